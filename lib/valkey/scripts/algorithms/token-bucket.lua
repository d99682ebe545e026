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
  token_bucket.commit(key, state, now, window, cost, member, margin) writes
    and returns the TTL it gave the key, ms.

  Standalone, as a command of its own: standalone.lua (the same KEYS, ARGV
  and reply for all four algorithms).
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
  -- A caller whose clock is behind another instance's neither refills nor
  -- moves ts back: the newest time is kept, so clock skew loses no counts.
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
  return s.full_in + margin
end

-- Settle a reservation: `units` back into the bucket (negative: taken out),
-- never above full or below empty. decided_at is unused: a bucket has no windows.
function token_bucket.refund(key, decided_at, limit, window, units)
  local stored = redis.call("HMGET", key, "lvl", "ts")
  local level = tonumber(stored[1])
  if level == nil then return end  -- expired: the bucket is full again
  level = math.max(0, math.min(limit * window, level + units * window))
  redis.call("HSET", key, "lvl", string.format("%.0f", level))
end

return token_bucket
