--[[
  sliding-counter.lua: sliding-window counter (two fixed windows, weighted).

  Keeps the count of the current fixed window and of the one before, and
  estimates the sliding window as
      prev × (window − elapsed) / window + cur
  (elapsed = ms into the current window). O(1) memory whatever the limit,
  close to the sliding log, but an estimate: it assumes the previous
  window's units were spread evenly, so it can admit a little more or less
  than an exact log would. All comparisons are done in integers (scaled by
  the window) so results are exact for a given input.

  State is a hash { w = index of the current window, cur, prev }.

  As a module: sliding_counter.check(key, now, limit, window, cost) reads
  only and returns { allowed, remaining, reset_at, retry_after, used };
  sliding_counter.commit(key, state, now, window, cost, member, margin) writes
    and returns the TTL it gave the key, ms.

  Standalone, as a command of its own: standalone.lua (the same KEYS, ARGV
  and reply for all four algorithms).
]]

local sliding_counter = {}

-- Earliest Unix ms >= now at which `room` more units fit, with no new
-- requests; nil when they never can (room > limit).
local function counter_time_for(prev, cur, index, window, limit, room, now)
  local budget = (limit - room) * window   -- scaled units the estimate may hold
  if budget < 0 then return nil end
  local start = index * window
  if cur * window <= budget then
    if prev == 0 or prev * (window - (now - start)) + cur * window <= budget then return now end
    -- prev × (window − e) ≤ budget − cur × window  ⇒  e ≥ window − (budget − cur × window) / prev
    local e = math.ceil(window - (budget - cur * window) / prev)
    return math.max(start + e, now)
  end
  -- Not in this window: in the next, the current count decays as prev did.
  local e = math.ceil(window - budget / cur)
  return (index + 1) * window + math.max(e, 0)
end

function sliding_counter.check(key, now, limit, window, cost)
  local index = math.floor(now / window)
  local stored = redis.call("HMGET", key, "w", "cur", "prev")
  local w = tonumber(stored[1])
  -- Keep the newest window: a caller whose clock is behind another
  -- instance's counts in the stored window, as if at its start (prev weighs
  -- fully), so commit never rolls the window back and turns cur into prev.
  local at = now  -- Unix ms the estimate is taken at
  if w ~= nil and w > index then
    index = w
    at = index * window
  end
  local cur, prev = 0, 0
  if w ~= nil then
    if w == index then          -- this window
      cur, prev = tonumber(stored[2]) or 0, tonumber(stored[3]) or 0
    elseif w == index - 1 then  -- the window just before: it becomes prev
      prev = tonumber(stored[2]) or 0
    end
  end
  local weight = window - (at - index * window)  -- prev's weight, scaled by window
  local scaled = prev * weight + cur * window
  local s = { allowed = scaled + cost * window <= limit * window, retry_after = 0, index = index, prev = prev }
  s.cur = s.allowed and cur + cost or cur
  local used_scaled = prev * weight + s.cur * window
  s.remaining = math.max(math.floor((limit * window - used_scaled) / window), 0)
  s.used = limit - s.remaining
  if used_scaled == 0 or s.remaining >= limit then
    s.reset_at = now
  else
    s.reset_at = counter_time_for(prev, s.cur, index, window, limit, s.remaining + 1, at) or at
  end
  if not s.allowed then
    -- In the caller's clock: a caller behind waits for its clock to catch up too.
    local t = counter_time_for(prev, cur, index, window, limit, cost, at)
    s.retry_after = t and (t - now) or window
  end
  return s
end

function sliding_counter.commit(key, s, now, window, cost, member, margin)
  redis.call("HSET", key, "w", string.format("%.0f", s.index), "cur", s.cur, "prev", s.prev)
  -- cur still weighs in during the next window.
  local ttl = (s.index + 2) * window - now + margin
  redis.call("PEXPIRE", key, ttl)
  return ttl
end

-- Settle a reservation made at decided_at: `units` off the window it was
-- counted in (now the current or the previous one), never below zero;
-- negative units are added. A reservation older than that has expired.
function sliding_counter.refund(key, decided_at, limit, window, units)
  local index = math.floor(decided_at / window)
  local stored = redis.call("HMGET", key, "w", "cur", "prev")
  local w = tonumber(stored[1])
  if w == index then
    redis.call("HSET", key, "cur", math.max(0, (tonumber(stored[2]) or 0) - units))
  elseif w == index + 1 then
    redis.call("HSET", key, "prev", math.max(0, (tonumber(stored[3]) or 0) - units))
  end
end

return sliding_counter
