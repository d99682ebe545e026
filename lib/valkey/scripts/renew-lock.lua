--[[
  renew-lock.lua: keep a generation lock alive while its owner still generates.

  A real model can take a minute; the lock's TTL is short so that a dead
  owner's lock frees up soon. The owner calls this every third of the TTL
  while it generates: the lock lives as long as the owner does, and no
  second generation of the same prompt starts meanwhile. Extends the lock
  only if this request still holds it (it may have expired and been taken).

  KEYS[1]  generation lock     string, value = owner's request id

  ARGV[1]  request id          the owner's
  ARGV[2]  lock ttl            ms from now

  Returns  1 when renewed, 0 when the lock is no longer this request's
]]

local lock_key   = KEYS[1]
local request_id = ARGV[1]
local lock_ttl   = tonumber(ARGV[2])  -- ms

if redis.call("GET", lock_key) == request_id then
  redis.call("PEXPIRE", lock_key, lock_ttl)
  return 1
end
return 0
