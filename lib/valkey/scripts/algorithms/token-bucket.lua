--[[
  token-bucket.lua: token bucket (burst, then a steady refill).

  A bucket of `limit` units that refills at limit / window units per ms; a
  request takes `cost` units if the bucket holds them. A full bucket admits
  a burst of `limit` at once, then the refill rate. Over any span of one
  window it can admit up to 2 × limit (a full burst plus a window of refill).

  The level is kept scaled by the window (level × window), so refill is
  elapsed_ms × limit and every quantity is an integer: exact with a fixed
  clock. State is a hash { lvl = scaled level, ts = Unix ms of the level };
  a missing key is a full bucket, and the key expires when the bucket would
  be full again.

  As a module: token_bucket.check(key, now, limit, window, cost) reads only
  and returns { allowed, remaining, reset_at, retry_after, used };
  token_bucket.commit(key, state, now, window, cost, member, margin) writes.

  Standalone:
  KEYS[1]  state               hash { lvl, ts }
  ARGV[1]  now                 Unix time, ms
  ARGV[2]  limit               bucket size, units (refilled once per window)
  ARGV[3]  window              ms
  ARGV[4]  cost                units this request takes
  ARGV[5]  member              unused (same arguments for every algorithm)
  ARGV[6]  margin              ms added to the key's PEXPIRE
  ARGV[7]  "1" to consume when allowed, "0" to only look

  Returns  { allowed (1|0), limit, remaining (whole units left, after this
             request), resetAt (Unix ms when the next whole unit is back; now
             when the bucket is full), retryAfter (ms until this cost fits;
             0 when allowed) }
]]

local token_bucket = {}

function token_bucket.check(key, now, limit, window, cost)
  local capacity = limit * window            -- scaled units
  local stored = redis.call("HMGET", key, "lvl", "ts")
  local level, ts = tonumber(stored[1]), tonumber(stored[2])
  if level == nil or ts == nil then
    level, ts = capacity, now
  else
    level = math.min(capacity, level + math.max(now - ts, 0) * limit)
  end
  local need = cost * window
  local s = { allowed = level >= need, retry_after = 0, ts = math.max(now, ts) }
  s.level = s.allowed and level - need or level
  s.remaining = math.floor(s.level / window)
  s.used = limit - s.remaining
  s.full_in = math.ceil((capacity - s.level) / limit)  -- ms until the bucket is full again
  if s.level >= capacity then
    s.reset_at = now
  else
    s.reset_at = now + math.ceil(((s.remaining + 1) * window - s.level) / limit)
  end
  if not s.allowed then
    s.retry_after = cost > limit and window or math.ceil((need - level) / limit)
  end
  return s
end

function token_bucket.commit(key, s, now, window, cost, member, margin)
  redis.call("HSET", key, "lvl", string.format("%.0f", s.level), "ts", string.format("%.0f", s.ts))
  redis.call("PEXPIRE", key, s.full_in + margin)
end

--@@standalone (everything below is dropped when the module is composed)
local key    = KEYS[1]
local now    = tonumber(ARGV[1])  -- Unix ms
local limit  = tonumber(ARGV[2])  -- units per window
local window = tonumber(ARGV[3])  -- ms
local cost   = tonumber(ARGV[4])  -- units
local member = ARGV[5]
local margin = tonumber(ARGV[6])  -- ms
local commit = ARGV[7] == "1"

local s = token_bucket.check(key, now, limit, window, cost)
if s.allowed and commit and cost > 0 then token_bucket.commit(key, s, now, window, cost, member, margin) end
return { s.allowed and 1 or 0, limit, s.remaining, s.reset_at, s.retry_after }
