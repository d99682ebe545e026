--[[
  decide.lua: one gateway decision, atomic on the server.

  Sliding-window log rate limit on the caller's sorted set, then (when
  admitted and asked to) the prompt-cache lookup, then every counter the
  dashboard reads and, for blocked requests and cache hits, the decision
  event on the capped stream. A cache miss's event is written by store.lua,
  once the generation's latency and tokens are known.

  KEYS[1]  rate-limit window   sorted set, member = request id, score = Unix ms
  KEYS[2]  cache entry         string, JSON written by store.lua (read only when ARGV[7] == "1")
  KEYS[3]  totals              hash of counters
  KEYS[4]  time bucket         hash of per-bucket counters
  KEYS[5]  top consumers       sorted set, requests per identity this minute
  KEYS[6]  top blocked         sorted set, blocked requests per identity this minute
  KEYS[7]  active index        sorted set, member = identity, score = window expiry (Unix ms)
  KEYS[8]  events              stream, capped at ARGV[10] entries

  ARGV[1]  now                 Unix time, ms (from the caller, so tests can fix the clock)
  ARGV[2]  window              ms
  ARGV[3]  limit               requests per window
  ARGV[4]  request id          unique; the window's member
  ARGV[5]  identity            label shown in stats (API keys only as a hash)
  ARGV[6]  tier                plan name
  ARGV[7]  "1" to look up the cache for an admitted request, "0" not to
  ARGV[8]  bucket ttl          s
  ARGV[9]  top ttl             s
  ARGV[10] stream cap          entries (exact MAXLEN)
  ARGV[11] cache key prefix    first hex digits of the prompt hash, for the event
  ARGV[12] window margin       ms added to the window's PEXPIRE

  Returns  { allowed (1|0), count in window (after this request), remaining,
             resetAt (Unix ms, when the oldest request leaves the window),
             retryAfter (ms, 0 when allowed), cached JSON or nil }
]]

local window_key = KEYS[1]
local cache_key  = KEYS[2]
local totals_key = KEYS[3]
local bucket_key = KEYS[4]
local top_key    = KEYS[5]
local topb_key   = KEYS[6]
local active_key = KEYS[7]
local events_key = KEYS[8]

local now        = tonumber(ARGV[1])   -- Unix ms
local window     = tonumber(ARGV[2])   -- ms
local limit      = tonumber(ARGV[3])   -- requests
local request_id = ARGV[4]
local identity   = ARGV[5]
local tier       = ARGV[6]
local use_cache  = ARGV[7] == "1"
local bucket_ttl = tonumber(ARGV[8])   -- s
local top_ttl    = tonumber(ARGV[9])   -- s
local stream_cap = tonumber(ARGV[10])  -- entries
local cache_tag  = ARGV[11]
local margin     = tonumber(ARGV[12])  -- ms

-- 1. The sliding window: drop what fell out, count, admit if under the limit.
redis.call("ZREMRANGEBYSCORE", window_key, "-inf", now - window)
local count = redis.call("ZCARD", window_key)
local allowed = count < limit
if allowed then
  redis.call("ZADD", window_key, now, request_id)
  count = count + 1
end
if count > 0 then
  redis.call("PEXPIRE", window_key, window + margin)
end

local reset_at = now + window
local oldest = redis.call("ZRANGE", window_key, 0, 0, "WITHSCORES")
if oldest[2] then reset_at = tonumber(oldest[2]) + window end
local remaining = limit - count
if remaining < 0 then remaining = 0 end
local retry_after = 0
if not allowed then retry_after = math.max(reset_at - now, 0) end

-- 2. The cache, for admitted requests only: a blocked request learns nothing.
local cached = nil
local saved_tokens = 0
local saved_ms = 0
if allowed and use_cache then
  cached = redis.call("GET", cache_key)
  if cached then
    local ok, doc = pcall(cjson.decode, cached)
    if ok and type(doc) == "table" then
      if type(doc.usage) == "table" and tonumber(doc.usage.totalTokens) then
        saved_tokens = tonumber(doc.usage.totalTokens)
      end
      if tonumber(doc.latencyMs) then saved_ms = tonumber(doc.latencyMs) end
    end
  else
    cached = nil
  end
end

-- 3. Counters: totals, this time bucket, this minute's consumers, the active index.
redis.call("HINCRBY", totals_key, "requests", 1)
redis.call("HINCRBY", bucket_key, "req", 1)
if allowed then
  redis.call("HINCRBY", totals_key, "allowed", 1)
  redis.call("HINCRBY", bucket_key, "ok", 1)
  if use_cache then
    if cached then
      redis.call("HINCRBY", totals_key, "hits", 1)
      redis.call("HINCRBY", totals_key, "tokens_saved", saved_tokens)
      redis.call("HINCRBY", totals_key, "time_saved_ms", saved_ms)
      redis.call("HINCRBY", bucket_key, "hit", 1)
    else
      redis.call("HINCRBY", totals_key, "misses", 1)
      redis.call("HINCRBY", bucket_key, "miss", 1)
    end
  end
else
  redis.call("HINCRBY", totals_key, "blocked", 1)
  redis.call("HINCRBY", bucket_key, "blk", 1)
  redis.call("ZINCRBY", topb_key, 1, identity)
  redis.call("EXPIRE", topb_key, top_ttl)
end
redis.call("EXPIRE", bucket_key, bucket_ttl)
redis.call("ZINCRBY", top_key, 1, identity)
redis.call("EXPIRE", top_key, top_ttl)
redis.call("ZADD", active_key, reset_at, identity)
redis.call("ZREMRANGEBYSCORE", active_key, "-inf", now)

-- 4. The event, for outcomes that end here (a miss is logged by store.lua).
local event_type = nil
if not allowed then
  event_type = "blocked"
elseif use_cache and cached then
  event_type = "hit"
end
if event_type then
  redis.call("XADD", events_key, "MAXLEN", stream_cap, "*",
    "type", event_type, "id", request_id, "who", identity, "tier", tier,
    "n", count, "limit", limit, "rem", remaining, "reset", reset_at,
    "ck", cache_tag, "tok", saved_tokens, "saved_ms", saved_ms, "ts", now)
end

return { allowed and 1 or 0, count, remaining, reset_at, retry_after, cached }
