--[[
  store.lua: record a cache miss once the model has answered.

  Caches the response with its TTL, indexes it for the cached-prompt count,
  adds the generation's tokens and latency to the counters, and appends the
  miss's event to the capped stream.

  KEYS[1]  cache entry         string, the response JSON
  KEYS[2]  totals              hash of counters
  KEYS[3]  cache index         sorted set, member = prompt hash, score = entry expiry (Unix ms)
  KEYS[4]  events              stream, capped at ARGV[7] entries
  KEYS[5]  time bucket         hash of per-bucket counters

  ARGV[1]  now                 Unix time, ms
  ARGV[2]  response JSON       what a later hit returns
  ARGV[3]  ttl                 s
  ARGV[4]  prompt hash         full hex SHA-256, the index member
  ARGV[5]  tokens              prompt + completion tokens generated
  ARGV[6]  latency             ms the generation took
  ARGV[7]  stream cap          entries (exact MAXLEN)
  ARGV[8]  bucket ttl          s
  ARGV[9]  request id
  ARGV[10] identity            label (API keys only as a hash)
  ARGV[11] tier
  ARGV[12] count in window     requests, as decide.lua returned
  ARGV[13] limit               requests per window
  ARGV[14] remaining           requests
  ARGV[15] resetAt             Unix ms
  ARGV[16] cache key prefix    first hex digits of the prompt hash

  Returns  1
]]

local cache_key  = KEYS[1]
local totals_key = KEYS[2]
local index_key  = KEYS[3]
local events_key = KEYS[4]
local bucket_key = KEYS[5]

local now        = tonumber(ARGV[1])   -- Unix ms
local body       = ARGV[2]
local ttl        = tonumber(ARGV[3])   -- s
local sha        = ARGV[4]
local tokens     = tonumber(ARGV[5])   -- tokens
local latency    = tonumber(ARGV[6])   -- ms
local stream_cap = tonumber(ARGV[7])   -- entries
local bucket_ttl = tonumber(ARGV[8])   -- s

redis.call("SET", cache_key, body, "EX", ttl)
redis.call("ZADD", index_key, now + ttl * 1000, sha)
redis.call("ZREMRANGEBYSCORE", index_key, "-inf", now)

redis.call("HINCRBY", totals_key, "generations", 1)
redis.call("HINCRBY", totals_key, "tokens_generated", tokens)
redis.call("HINCRBY", totals_key, "generation_ms", latency)
redis.call("HINCRBY", bucket_key, "tok", tokens)
redis.call("EXPIRE", bucket_key, bucket_ttl)

redis.call("XADD", events_key, "MAXLEN", stream_cap, "*",
  "type", "miss", "id", ARGV[9], "who", ARGV[10], "tier", ARGV[11],
  "n", ARGV[12], "limit", ARGV[13], "rem", ARGV[14], "reset", ARGV[15],
  "ck", ARGV[16], "tok", tokens, "lat", latency, "ts", now)

return 1
