--[[
  unlock.lua: give back a generation lock (Valkey Cluster only).

  On a cluster the lock is taken by cache-lookup.lua before decide.lua has
  admitted the request; a request its limits then refuse gives the lock
  back at once, so identical prompts waiting for it take it over instead of
  waiting for an answer that will not come.

  KEYS[1]  generation lock     string, value = owner's request id

  ARGV[1]  request id          released only if the lock holds this value

  Returns  1 when released, 0 when the lock was not this request's
]]

local lock_key   = KEYS[1]
local request_id = ARGV[1]

if redis.call("GET", lock_key) == request_id then
  redis.call("DEL", lock_key)
  return 1
end
return 0
