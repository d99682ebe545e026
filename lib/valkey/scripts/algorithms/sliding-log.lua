--[[
  sliding-log.lua: sliding-window log rate limit (the default; exact).

  One sorted-set member per admitted unit, scored by its Unix ms. A request
  is admitted when the units in (now - window, now] plus its cost fit the
  limit, so no window of that length, wherever it starts, ever holds more
  than the limit. Memory grows with the limit (one member per unit), and a
  cost of n writes n members: use it for request counts, not for tokens.

  As a module (lib/valkey/scripts.ts puts it in front of decide.lua,
  peek.lua, store.lua and standalone.lua):
    sliding_log.check(key, now, limit, window, cost)  reads only; returns a
      state table { allowed, remaining, reset_at, retry_after, used }
      describing the dimension as if this request were consumed (when it is
      allowed) or not (when refused);
    sliding_log.commit(key, state, now, window, cost, member, margin) writes
    and returns the TTL it gave the key, ms.

  Standalone, as a command of its own: standalone.lua (the same KEYS, ARGV
  and reply for all four algorithms).
]]

local sliding_log = {}

function sliding_log.check(key, now, limit, window, cost)
  -- Members scored at or before now - window are out: exactly one window old is gone.
  local floor_score = "(" .. string.format("%.0f", now - window)
  local used = redis.call("ZCOUNT", key, floor_score, "+inf")
  local s = { allowed = used + cost <= limit, retry_after = 0 }
  s.used = s.allowed and used + cost or used
  s.remaining = math.max(limit - s.used, 0)
  local oldest = redis.call("ZRANGEBYSCORE", key, floor_score, "+inf", "WITHSCORES", "LIMIT", 0, 1)
  if oldest[2] then
    s.reset_at = tonumber(oldest[2]) + window
  elseif s.allowed and cost > 0 then
    s.reset_at = now + window
  else
    s.reset_at = now
  end
  if not s.allowed then
    if cost > limit then
      s.retry_after = window -- never fits; report one window
    else
      -- The unit whose leaving makes room for `cost` more: 0-based index used + cost - limit - 1.
      local nth = redis.call("ZRANGEBYSCORE", key, floor_score, "+inf", "WITHSCORES", "LIMIT", used + cost - limit - 1, 1)
      s.retry_after = math.max(tonumber(nth[2]) + window - now, 0)
    end
  end
  return s
end

function sliding_log.commit(key, s, now, window, cost, member, margin)
  redis.call("ZREMRANGEBYSCORE", key, "-inf", string.format("%.0f", now - window))
  if cost == 1 then
    redis.call("ZADD", key, now, member)
  else
    for i = 1, cost do redis.call("ZADD", key, now, member .. ":" .. i) end
  end
  redis.call("PEXPIRE", key, window + margin)
  return window + margin
end

-- A log holds one member per unit, so it never limits tokens (policy.ts);
-- there is no reservation to settle.
function sliding_log.refund(key, decided_at, limit, window, units)
end

return sliding_log
