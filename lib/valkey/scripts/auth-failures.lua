--[[
  auth-failures.lua: count one wrong API key sent from a client address.

  Every instance counts into the same key, so the budget holds for the whole
  deployment. The window is fixed and starts at the first failure: a caller
  that keeps guessing does not push its end further out, and the key is gone
  one window after the first wrong key whatever happens next. Only wrong keys
  call this script; a configured key never reaches Valkey for its check.

  KEYS[1]  failure counter     string (integer), the client address's failures in this window

  ARGV[1]  window              ms, from the first failure

  Returns  { failures (this one included), ttl (ms until the window ends) }
]]

local counter = KEYS[1]
local window  = tonumber(ARGV[1])  -- ms

local failures = redis.call("INCR", counter)
local ttl = redis.call("PTTL", counter)
-- A new counter (or one somehow left without an expiry) gets its window now.
if ttl < 0 then
  redis.call("PEXPIRE", counter, window)
  ttl = window
end
return { failures, ttl }
