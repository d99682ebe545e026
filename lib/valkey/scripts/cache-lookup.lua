--[[
  cache-lookup.lua: the prompt-cache lookup on a Valkey Cluster.

  On a single server decide.lua reads the cache entry and takes the
  generation lock itself. On a cluster those two keys live on the prompt's
  slot (tagged by its hash) while decide.lua runs on the caller's shard slot,
  and one script may not cross slots: so this runs first, on the prompt's
  slot, and decide.lua is told the outcome. It is also what a waiter polls:
  when the lock is free again (its owner was refused by its limits and gave
  it back, or expired), the first poller takes it over and generates.

  KEYS[1]  cache entry         string, JSON written by cache-store.lua
  KEYS[2]  generation lock     string, value = owner's request id

  ARGV[1]  request id          this request's; the lock's value if it takes it
  ARGV[2]  lock ttl            ms; 0 takes no generation lock

  Returns  { the cached JSON or nil,
             lock (0 none: cached, or locks off; 1 this request owns the
             generation; 2 another request is generating: wait for it) }
]]

local cache_key  = KEYS[1]
local lock_key   = KEYS[2]

local request_id = ARGV[1]
local lock_ttl   = tonumber(ARGV[2])  -- ms

local cached = redis.call("GET", cache_key)
if cached then return { cached, 0 } end
if lock_ttl <= 0 then return { false, 0 } end
if redis.call("SET", lock_key, request_id, "NX", "PX", lock_ttl) then return { false, 1 } end
-- Already ours (a waiter that took over polls again): still ours.
if redis.call("GET", lock_key) == request_id then return { false, 1 } end
return { false, 2 }
