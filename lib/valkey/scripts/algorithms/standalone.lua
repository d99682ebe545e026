--[[
  standalone.lua: one algorithm as a command of its own (the algorithm lab,
  the algorithm tests and the simulator's per-caller run limit call it).
  lib/valkey/scripts.ts puts an algorithm module in front of this file as
  `local algorithm = (function() <module> end)()`; the module files keep
  only their functions (check(), commit(), refund()), so the four share
  this one entry point.

  KEYS[1]  state               the algorithm's key (sorted set or hash)
  ARGV[1]  now                 Unix time, ms
  ARGV[2]  limit               units per window
  ARGV[3]  window              ms
  ARGV[4]  cost                units this request takes (requests: 1)
  ARGV[5]  member              unique request id (sliding log members)
  ARGV[6]  margin              ms added to the key's PEXPIRE
  ARGV[7]  "1" to consume when allowed, "0" to only look

  Returns  { allowed (1|0), limit, remaining (units, after this request),
             resetAt (Unix ms, when room frees up), retryAfter (ms until
             this cost fits; 0 when allowed) }
]]

local key    = KEYS[1]
local now    = tonumber(ARGV[1])  -- Unix ms
local limit  = tonumber(ARGV[2])  -- units per window
local window = tonumber(ARGV[3])  -- ms
local cost   = tonumber(ARGV[4])  -- units
local member = ARGV[5]
local margin = tonumber(ARGV[6])  -- ms
local commit = ARGV[7] == "1"

-- A call that may write may also tidy (drop state that can never count again); a look only reads.
local s = algorithm.check(key, now, limit, window, cost, commit)
if s.allowed and commit and cost > 0 then algorithm.commit(key, s, now, window, cost, member, margin) end
return { s.allowed and 1 or 0, limit, s.remaining, s.reset_at, s.retry_after }
