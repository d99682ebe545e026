--[[
  cache-store.lua: the cache half of a miss's store on a Valkey Cluster.

  Runs on the prompt's slot, at the same time as store.lua's shard half on
  the caller's slot. Caches the response with its TTL unless an answer for
  the same prompt is already cached (that one stays and is returned, so one
  prompt never has two cached texts), and releases the generation lock if
  this request holds it.

  KEYS[1]  cache entry         string, the response JSON
  KEYS[2]  generation lock     string, value = owner's request id

  ARGV[1]  response JSON       what a later hit returns
  ARGV[2]  ttl                 s
  ARGV[3]  request id          the lock is released only if it holds this value
  ARGV[4]  "1" to overwrite an entry that is there (the client asked for a fresh answer)

  Returns  { stored (1 | 0 when an entry was already there), the cached JSON now in force }
]]

local cache_key  = KEYS[1]
local lock_key   = KEYS[2]

local body       = ARGV[1]
local ttl        = tonumber(ARGV[2])  -- s
local request_id = ARGV[3]
local refresh    = ARGV[4] == "1"

local stored = 1
local existing = not refresh and redis.call("GET", cache_key)
if existing then
  stored = 0
  body = existing
else
  redis.call("SET", cache_key, body, "EX", ttl)
end
if redis.call("GET", lock_key) == request_id then redis.call("DEL", lock_key) end
return { stored, body }
