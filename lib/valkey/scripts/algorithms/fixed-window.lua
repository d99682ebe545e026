--[[
  fixed-window.lua: fixed-window counter.

  One counter per calendar window (now // window). Cheapest and simplest, but
  a burst at the end of one window and another at the start of the next are
  both admitted: up to twice the limit within one window's length.

  State is a hash { w = index of the window counted, n = units in it }, so
  the clock stays an argument (a key per window would need server time to
  expire at the boundary).

  As a module: fixed_window.check(key, now, limit, window, cost) reads only
  and returns { allowed, remaining, reset_at, retry_after, used };
  fixed_window.commit(key, state, now, window, cost, member, margin) writes
    and returns the TTL it gave the key, ms.

  Standalone, as a command of its own: standalone.lua (the same KEYS, ARGV
  and reply for all four algorithms).
]]

local fixed_window = {}

function fixed_window.check(key, now, limit, window, cost)
  local index = math.floor(now / window)
  local stored = redis.call("HMGET", key, "w", "n")
  local w = tonumber(stored[1])
  -- Keep the newest window: a caller whose clock is behind another
  -- instance's counts in the stored window, so commit never rolls it back
  -- (which would drop that window's count and admit a fresh limit).
  if w ~= nil and w > index then index = w end
  local used = (w == index) and (tonumber(stored[2]) or 0) or 0
  local s = { allowed = used + cost <= limit, retry_after = 0, index = index }
  s.used = s.allowed and used + cost or used
  s.remaining = math.max(limit - s.used, 0)
  local window_end = (index + 1) * window
  s.reset_at = s.used > 0 and window_end or now
  if not s.allowed then
    s.retry_after = cost > limit and window or window_end - now
  end
  return s
end

function fixed_window.commit(key, s, now, window, cost, member, margin)
  redis.call("HSET", key, "w", string.format("%.0f", s.index), "n", s.used)
  local ttl = (s.index + 1) * window - now + margin
  redis.call("PEXPIRE", key, ttl)
  return ttl
end

-- Settle a reservation made at decided_at: `units` off its window if that
-- window is still the stored one, never below zero; negative units are added.
function fixed_window.refund(key, decided_at, limit, window, units)
  local stored = redis.call("HMGET", key, "w", "n")
  if tonumber(stored[1]) == math.floor(decided_at / window) then
    redis.call("HSET", key, "n", math.max(0, (tonumber(stored[2]) or 0) - units))
  end
end

return fixed_window
