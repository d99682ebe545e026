--[[
  peek.lua: what is left of each of a caller's limits, without consuming.

  The same checks decide.lua runs, with a cost of 0: nothing is written.
  Runs with the algorithm modules and ALGORITHMS (name → module) prepended
  by lib/valkey/scripts.ts.

  KEYS[1..3]  dimension state  as in decide.lua (requests, tokens, daily)

  ARGV[1]  now                 Unix time, ms
  ARGV[2..4]   dimension 1     algorithm ("" when unused), limit (units), window (ms)
  ARGV[5..7]   dimension 2     same
  ARGV[8..10]  dimension 3     same

  Returns  per dimension 1..3 three numbers: remaining (units), resetAt
           (Unix ms when the next unit frees), used (units); zeros when unused
]]

local d1_key    = KEYS[1]
local d2_key    = KEYS[2]
local d3_key    = KEYS[3]

local now       = tonumber(ARGV[1])   -- Unix ms
local d1_algo   = ARGV[2]
local d1_limit  = tonumber(ARGV[3])   -- units per window
local d1_window = tonumber(ARGV[4])   -- ms
local d2_algo   = ARGV[5]
local d2_limit  = tonumber(ARGV[6])   -- units per window
local d2_window = tonumber(ARGV[7])   -- ms
local d3_algo   = ARGV[8]
local d3_limit  = tonumber(ARGV[9])   -- units per window
local d3_window = tonumber(ARGV[10])  -- ms

local dims = {
  { key = d1_key, algo = d1_algo, limit = d1_limit, window = d1_window },
  { key = d2_key, algo = d2_algo, limit = d2_limit, window = d2_window },
  { key = d3_key, algo = d3_algo, limit = d3_limit, window = d3_window },
}

local reply = {}
for _, d in ipairs(dims) do
  local impl = ALGORITHMS[d.algo]
  if d.algo ~= "" and impl then
    local s = impl.check(d.key, now, d.limit, d.window, 0)
    table.insert(reply, s.remaining)
    table.insert(reply, s.reset_at)
    table.insert(reply, s.used)
  else
    for _ = 1, 3 do table.insert(reply, 0) end
  end
end
return reply
