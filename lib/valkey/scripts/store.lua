--[[
  store.lua: settle a generation once the model has answered (or failed).

  Caches the response with its TTL unless an answer for the same prompt is
  already cached (then that one stays, and is returned, so one prompt never
  has two different cached texts), indexes it for the cached-prompt count,
  releases the generation lock if this request holds it, adds the
  generation's tokens and latency to the counters, and appends the miss's
  event to the capped stream. A request decide.lua counted as coalesced
  that generated after all (its wait ran out) is moved from hits to misses
  here, in the same atomic step. The token reservation decide.lua charged
  (estimated prompt + the whole completion budget) is settled against what
  the model really produced, in the same call: the difference is given back
  (or, for a request that generated without a reservation, charged).

  Runs with the algorithm modules in front of it (lib/valkey/scripts.ts),
  for their refund().

  On a cluster the cache entry and the lock live on the prompt's slot, the
  rest on the caller's shard slot: cache-store.lua does the cache half there
  and this script, with ARGV[18] set, does only the shard half (KEYS[1] and
  KEYS[6] are then keys of the shard slot, never touched).

  KEYS[1]  cache entry         string, the response JSON
  KEYS[2]  totals              hash of counters
  KEYS[3]  cache index         sorted set, member = prompt hash, score = entry expiry (Unix ms)
  KEYS[4]  events              stream, capped at about ARGV[7] entries (MAXLEN ~)
  KEYS[5]  time bucket         hash of per-bucket counters (fields as decide.lua writes them)
  KEYS[6]  generation lock     string, value = owner's request id
  KEYS[7]  token limit state   the plan's token dimension (unused when ARGV[23] == "")

  ARGV[1]  now                 Unix time, ms
  ARGV[2]  response JSON       what a later hit returns
  ARGV[3]  ttl                 s
  ARGV[4]  prompt hash         full hex SHA-256, the index member
  ARGV[5]  tokens              prompt + completion tokens generated
  ARGV[6]  latency             ms the generation took
  ARGV[7]  stream cap          entries: at least this many kept, at most one stream node more
  ARGV[8]  bucket ttl          s from now (set on every store)
  ARGV[9]  request id          the lock is released only if it holds this value
  ARGV[10] identity            label (API keys only as a hash)
  ARGV[11] tier
  ARGV[12] count in window     requests, as decide.lua returned
  ARGV[13] limit               requests per window
  ARGV[14] remaining           requests
  ARGV[15] resetAt             Unix ms
  ARGV[16] cache key prefix    first hex digits of the prompt hash
  ARGV[17] "1" when decide.lua counted this request as coalesced, else "0"
  ARGV[18] cache half done by the caller (cluster): "" no (standalone: this
           script caches, indexes and releases the lock), "stored" yes and
           the entry is this request's (index it), "kept" yes and another
           request's entry stays (it is indexed already)
  ARGV[19] waiters             same-process requests that waited for this answer
           (counted as coalesced hits by decide.lua, with nothing saved yet):
           their tokens and model time saved are added here

  ARGV[20] door                "generate" | "openai", for the event
  ARGV[21] model               for the event
  ARGV[22] cache mode          "store" (unless an entry is there), "refresh"
                               (overwrite: the client asked for a fresh answer),
                               "none" (count and settle only: no-store, or an
                               answer that was cut off or failed)
  ARGV[23] token algorithm     of KEYS[7]; "" when the plan limits no tokens
  ARGV[24] token limit         tokens per window
  ARGV[25] token window        ms
  ARGV[26] decided at          Unix ms of the decide call (the window the reservation went to)
  ARGV[27] tokens back         charged at decide minus used; negative charges more
  ARGV[28] finish              "stop" | "length" | "aborted" | "error", for the event

  Returns  { stored (1 | 0 when an entry was already there), the cached JSON now in force }
           (with ARGV[18] set: { 1 | 0 as ARGV[18] says, "" }: the caller has the entry)
]]

local cache_key  = KEYS[1]
local totals_key = KEYS[2]
local index_key  = KEYS[3]
local events_key = KEYS[4]
local bucket_key = KEYS[5]
local lock_key   = KEYS[6]

local now        = tonumber(ARGV[1])   -- Unix ms
local body       = ARGV[2]
local ttl        = tonumber(ARGV[3])   -- s
local sha        = ARGV[4]
local tokens     = tonumber(ARGV[5])   -- tokens
local latency    = tonumber(ARGV[6])   -- ms
local stream_cap = tonumber(ARGV[7])   -- entries
local bucket_ttl = tonumber(ARGV[8])   -- s
local request_id = ARGV[9]
local was_coalesced = ARGV[17] == "1"
local cache_elsewhere = ARGV[18] or ""  -- "" | "stored" | "kept"
local waiters    = tonumber(ARGV[19]) or 0  -- requests
local door       = ARGV[20]
local model      = ARGV[21]
local mode       = ARGV[22]             -- "store" | "refresh" | "none"
local token_key  = KEYS[7]
local token_algo = ARGV[23]
local token_limit  = tonumber(ARGV[24])  -- tokens per window
local token_window = tonumber(ARGV[25])  -- ms
local decided_at   = tonumber(ARGV[26])  -- Unix ms
local tokens_back  = tonumber(ARGV[27])  -- tokens
local finish       = ARGV[28]

local stored = 1
if cache_elsewhere == "" then
  local existing = mode ~= "refresh" and redis.call("GET", cache_key) or false
  if mode == "none" then
    stored = 0
    body = ""
  elseif existing then
    stored = 0
    body = existing
  else
    redis.call("SET", cache_key, body, "EX", ttl)
    redis.call("ZADD", index_key, now + ttl * 1000, sha)
  end
  if redis.call("GET", lock_key) == request_id then redis.call("DEL", lock_key) end
else
  -- Cluster: cache-store.lua wrote (or kept) the entry on the prompt's slot.
  body = ""
  if cache_elsewhere == "stored" then
    redis.call("ZADD", index_key, now + ttl * 1000, sha)
  else
    stored = 0
  end
end
redis.call("ZREMRANGEBYSCORE", index_key, "-inf", now)

if was_coalesced then
  redis.call("HINCRBY", totals_key, "hits", -1)
  redis.call("HINCRBY", totals_key, "coalesced", -1)
  redis.call("HINCRBY", totals_key, "misses", 1)
  -- The bucket's outcome × door fields (decide.lua): h(it) to m(iss), this request's door.
  local d = door == "openai" and "o" or "g"
  redis.call("HINCRBY", bucket_key, "h" .. d, -1)
  redis.call("HINCRBY", bucket_key, "m" .. d, 1)
end
redis.call("HINCRBY", totals_key, "generations", 1)
redis.call("HINCRBY", totals_key, "tokens_generated", tokens)
redis.call("HINCRBY", totals_key, "generation_ms", latency)
if waiters > 0 then
  -- The requests that shared this generation saved what it cost.
  redis.call("HINCRBY", totals_key, "tokens_saved", tokens * waiters)
  redis.call("HINCRBY", totals_key, "time_saved_ms", latency * waiters)
end
redis.call("HINCRBY", bucket_key, "tok", tokens)
-- The decision's bucket, which decide.lua created; its life now runs from this store, not its start.
redis.call("EXPIRE", bucket_key, bucket_ttl)

if token_algo ~= "" and tokens_back ~= 0 then
  ALGORITHMS[token_algo].refund(token_key, decided_at, token_limit, token_window, tokens_back)
  redis.call("HINCRBY", totals_key, "tokens_refunded", tokens_back)
end

-- The same short field names as decide.lua's events, plus lat and fin (glossary in docs/architecture.md).
redis.call("XADD", events_key, "MAXLEN", "~", stream_cap, "*",
  "type", "miss", "id", request_id, "who", ARGV[10], "tier", ARGV[11],
  "n", ARGV[12], "limit", ARGV[13], "rem", ARGV[14], "reset", ARGV[15],
  "ck", ARGV[16], "tok", tokens, "lat", latency, "door", door, "model", model,
  "fin", finish, "ts", now)

return { stored, body }
