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
  fixed_window.commit(key, state, now, window, cost, member, margin) writes.

  Standalone:
  KEYS[1]  state               hash { w, n }
  ARGV[1]  now                 Unix time, ms
  ARGV[2]  limit               units per window
  ARGV[3]  window              ms
  ARGV[4]  cost                units this request takes
  ARGV[5]  member              unused (same arguments for every algorithm)
  ARGV[6]  margin              ms added to the key's PEXPIRE
  ARGV[7]  "1" to consume when allowed, "0" to only look

  Returns  { allowed (1|0), limit, remaining (units, after this request),
             resetAt (Unix ms: the window's end; now when nothing is used),
             retryAfter (ms until this cost fits; 0 when allowed) }
]]

local fixed_window = {}

function fixed_window.check(key, now, limit, window, cost)
  local index = math.floor(now / window)
  local stored = redis.call("HMGET", key, "w", "n")
  local w = tonumber(stored[1])
  -- A stored window after ours (another instance's clock ahead) still counts.
  local used = (w ~= nil and w >= index) and (tonumber(stored[2]) or 0) or 0
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
  redis.call("PEXPIRE", key, (s.index + 1) * window - now + margin)
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

local s = fixed_window.check(key, now, limit, window, cost)
if s.allowed and commit and cost > 0 then fixed_window.commit(key, s, now, window, cost, member, margin) end
return { s.allowed and 1 or 0, limit, s.remaining, s.reset_at, s.retry_after }
