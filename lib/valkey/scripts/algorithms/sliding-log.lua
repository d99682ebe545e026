--[[
  sliding-log.lua: sliding-window log rate limit (the default; exact).

  One sorted-set member per admitted unit, scored by its Unix ms. A request
  is admitted when the units in (now - window, now] plus its cost fit the
  limit, so no window of that length, wherever it starts, ever holds more
  than the limit. Memory grows with the limit (one member per unit), and a
  cost of n writes n members: use it for request counts, not for tokens.

  As a module (lib/valkey/scripts.ts puts it in front of decide.lua,
  peek.lua, store.lua and standalone.lua):
    sliding_log.check(key, now, limit, window, cost, tidy)  reads only unless
      tidy, when it first drops the members that can never count again (out
      of the window: invisible to every reader, so nothing a caller sees
      changes, and cheaper to count after; decide.lua and a committing
      standalone call pass it, peek.lua does not); returns a
      state table { allowed, remaining, reset_at, retry_after, used, floor,
      tidied }
      describing the dimension as if this request were consumed (when it is
      allowed) or not (when refused); floor is the window's start, formatted
      for commit's trim, which a tidied check has done already;
    sliding_log.commit(key, state, now, window, cost, member, margin) writes
    and returns the TTL it gave the key, ms.

  Standalone, as a command of its own: standalone.lua (the same KEYS, ARGV
  and reply for all four algorithms).
]]

local sliding_log = {}

function sliding_log.check(key, now, limit, window, cost, tidy)
  -- Members scored at or before now - window are out: exactly one window old is gone.
  -- The state is built whole (a field added later makes Lua grow the table),
  -- and the floor is formatted once for check and commit.
  local floor = string.format("%.0f", now - window)
  local used, oldest
  if tidy then
    -- Drop what can never count again, then what is left is the window: ZCARD
    -- and the first member instead of ZCOUNT and a range by score, the costliest
    -- reads of a decision on a long log (both are searches of the skiplist).
    redis.call("ZREMRANGEBYSCORE", key, "-inf", floor)
    used = redis.call("ZCARD", key)
    oldest = used > 0 and redis.call("ZRANGE", key, 0, 0, "WITHSCORES") or nil
  else
    local floor_score = "(" .. floor
    used = redis.call("ZCOUNT", key, floor_score, "+inf")
    oldest = used > 0 and redis.call("ZRANGEBYSCORE", key, floor_score, "+inf", "WITHSCORES", "LIMIT", 0, 1) or nil
  end
  local allowed = used + cost <= limit
  local in_window = used
  if allowed then used = used + cost end
  local remaining = limit - used
  if remaining < 0 then remaining = 0 end
  local s = { allowed = allowed, retry_after = 0, used = used, remaining = remaining, reset_at = now, floor = floor, tidied = tidy or false }
  if oldest then
    s.reset_at = tonumber(oldest[2]) + window
  elseif allowed and cost > 0 then
    s.reset_at = now + window
  end
  if not allowed then
    if cost > limit then
      s.retry_after = window -- never fits; report one window
    else
      -- The unit whose leaving makes room for `cost` more: 0-based index used + cost - limit - 1.
      local nth = in_window + cost - limit - 1
      local at = tidy and redis.call("ZRANGE", key, nth, nth, "WITHSCORES")
        or redis.call("ZRANGEBYSCORE", key, "(" .. floor, "+inf", "WITHSCORES", "LIMIT", nth, 1)
      local wait = tonumber(at[2]) + window - now
      s.retry_after = wait > 0 and wait or 0
    end
  end
  return s
end

function sliding_log.commit(key, s, now, window, cost, member, margin)
  if not s.tidied then redis.call("ZREMRANGEBYSCORE", key, "-inf", s.floor) end
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
