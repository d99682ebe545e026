--[[
  decide.lua: one gateway decision, atomic on the server.

  Every limit of the caller's plan (up to three dimensions: requests per
  window, tokens per window, a daily request quota), each with its own
  algorithm, is checked first and consumed only when all of them admit the
  request: a request refused by one dimension takes nothing from the others.
  Then (when admitted and asked to) the prompt-cache lookup, and on a miss
  the generation lock (EXISTS, then SET PX: no NX is needed inside one
  atomic script) that makes this caller the one that
  generates while identical concurrent prompts wait for its answer; then
  every counter the dashboard reads and, for blocked requests, cache hits and
  coalesced requests, the decision event on the capped stream. A miss's
  event is written by store.lua, once the generation's latency and tokens are
  known.

  Runs with the four algorithm modules (algorithms/*.lua) prepended by
  lib/valkey/scripts.ts: sliding_log, sliding_counter, token_bucket and
  fixed_window, each with check(), commit() and refund() (decide.lua calls
  the first two, store.lua the last), and ALGORITHMS, the table
  from an algorithm's name to its module.

  KEYS[1]  dimension 1 state   requests per window (type depends on its algorithm)
  KEYS[2]  dimension 2 state   tokens per window (unused when its algorithm is "")
  KEYS[3]  dimension 3 state   daily requests (unused when its algorithm is "")
  KEYS[4]  cache entry         string, JSON written by store.lua (read only when ARGV[5] == "1")
  KEYS[5]  generation lock     string, value = owner's request id, PX ARGV[11]
           (on a cluster both live on the prompt's slot, not the caller's: the
           caller passes a key of its own shard slot for each, never touched,
           looks the cache up itself first (cache-lookup.lua) and gives the
           outcome in ARGV[31])
  KEYS[6]  totals              hash of counters (fields in lib/stats/snapshot.ts, toTotals)
  KEYS[7]  time bucket         hash of per-bucket counters, one field per outcome and
                               door (lib/stats/snapshot.ts, toTimeBucket)
  KEYS[8]  top consumers       sorted set, requests per identity this minute
  KEYS[9]  top blocked         sorted set, blocked requests per identity this minute
  KEYS[10] active callers      HyperLogLog of the identities seen in this time bucket
  KEYS[11] events              stream, capped at about ARGV[8] entries (MAXLEN ~); its
                               field names are short, see the glossary in
                               docs/architecture.md ("Stream event fields")
  KEYS[12] hot prompts         sorted set, hits per prompt this minute (Space-Saving, ARGV[30] members)
  KEYS[13] limit index         sorted set, member = identity, score = when its limit state expires
                               (Unix ms): the TTL histogram of live limit state, read by ZCOUNT

  ARGV is built in one place, encodeDecideArgs() in lib/gateway/rate-limit.ts.
  ARGV[1]  now                 Unix time, ms (from the caller, so tests can fix the clock)
  ARGV[2]  request id          unique; a sliding log's member
  ARGV[3]  identity            label shown in stats (API keys only as a hash)
  ARGV[4]  tier                plan name
  ARGV[5]  "1" to look up the cache for an admitted request, "0" not to
  ARGV[6]  bucket ttl          ms from now until this time bucket's hash expires (its
                               start + BUCKET_TTL_SECONDS); set when the hash is created
  ARGV[7]  top ttl             ms from now until this minute's sorted sets (KEYS[8], [9],
                               [12]) expire (the minute's start + TOP_TTL_SECONDS)
  ARGV[8]  stream cap          entries: MAXLEN ~, so the stream keeps at least this many
                               and at most one stream node more
  ARGV[9]  cache key prefix    first hex digits of the prompt hash, for the event
  ARGV[10] window margin       ms added to every limit key's PEXPIRE
  ARGV[11] lock ttl            ms; 0 takes no generation lock
  ARGV[12..17] dimension 1     algorithm, limit (units), window (ms), cost (units),
                               policy name, "1" when the cost is waived for an
                               answer the model need not produce (tokens: a hit,
                               or a wait for another request's generation)
  ARGV[18..23] dimension 2     same; algorithm "" when the plan has no such dimension
  ARGV[24..29] dimension 3     same
  ARGV[30] top cap             members kept per top-consumer set (Space-Saving bound)
  ARGV[31] cache outcome decided by the caller (cluster; ARGV[5] is then "0"):
           "" none, "hit", "miss" or "coalesced"; counted and logged as if
           this script had looked the cache up, for admitted requests only
  ARGV[32] tokens saved        the cached answer's total tokens (outcome "hit")
  ARGV[33] time saved          ms, the cached answer's generation latency (outcome "hit")
  ARGV[34] door                "generate" | "openai": the dialect the request came in by
  ARGV[35] model               the model asked for, for the event
  ARGV[36] max age             ms; a cached entry older than this is a miss (0: any age)
  ARGV[37] hot member          "<full prompt hash> <prompt preview>": counted in KEYS[12] when
                               the request is answered without the model (hit or coalesced)
  ARGV[38] callers ttl         ms from now until this bucket's HyperLogLog (KEYS[10])
                               expires (the bucket's start + TOP_TTL_SECONDS)

  Returns  { allowed (1|0), refused dimension (1-3, 0 when allowed),
             lock (0 none, 1 this request owns the generation, 2 another
             request is generating this prompt: wait for it),
             then per dimension 1..3 six numbers: allowed (1|0), remaining
             (units), resetAt (Unix ms), retryAfter (ms), used (units),
             cost charged (units),
             and last the cached JSON or nil (always nil when the caller
             decided the cache outcome: it holds the entry) }

  Cost. Every redis.call costs server time beyond the command itself, and
  so does the Lua around it (measured with the commands stubbed out: the
  script's own Lua was about half of a hit's time), so the hot path
  (an admitted cache hit) keeps them few: the counters are one HINCRBY per
  field that cannot be derived (requests and allowed are read as sums, see
  toTotals and toTimeBucket), a key's expiry is set when the key is
  created (the HyperLogLog's whenever PFADD changes it, to the same
  instant), to the end of the span its readers look at, instead of on every
  write; the stream is trimmed by whole nodes; and the three numbers a hit
  needs (created, latency, tokens) are read from the start of the cached JSON, which store.ts writes
  in a fixed order, with cjson only as the fallback. The Lua itself is kept
  lean the same way (see the note at the top of the code below).
]]

-- Lua here runs slowly next to the commands it calls: on the bench machine a
-- C function call (tonumber, string.format, ipairs's iterator) costs about
-- 0.15 µs, a table 0.3 µs or more (and more again each time a field beyond
-- its constructor's makes it rehash), a redis.call 0.3 µs before the command
-- itself. So the script reads an argument only on the path that uses it,
-- builds a table only for a dimension the plan has, with every field it will
-- get, and loops by index.
local tonumber = tonumber
local call = redis.call

local totals_key  = KEYS[6]
local bucket_key  = KEYS[7]
local top_key     = KEYS[8]
local events_key  = KEYS[11]

local now         = tonumber(ARGV[1])   -- Unix ms
local request_id  = ARGV[2]
local identity    = ARGV[3]
local use_cache   = ARGV[5] == "1"
local lock_ttl    = tonumber(ARGV[11])  -- ms
local outcome     = ARGV[31] or ""      -- "" | "hit" | "miss" | "coalesced"
local door        = ARGV[34]            -- "generate" | "openai"
-- Hits and misses are counted when this script looks the cache up or the caller did.
local counts_cache = use_cache or outcome ~= ""

-- The plan's dimensions; false for a slot the plan does not use (algorithm "").
local dims = {}
for i = 1, 3 do
  local at = 6 + 6 * i  -- 12, 18, 24
  local algo = ARGV[at]
  if algo == "" then
    dims[i] = false
  else
    local impl = ALGORITHMS[algo]
    if not impl then return redis.error_reply("unknown algorithm " .. algo) end
    dims[i] = {
      key = KEYS[i],
      impl = impl,
      limit = tonumber(ARGV[at + 1]),   -- units per window
      window = tonumber(ARGV[at + 2]),  -- ms
      cost = tonumber(ARGV[at + 3]),    -- units
      name = ARGV[at + 4],
      waivable = ARGV[at + 5] == "1",
      state = false,                    -- what check() found
    }
  end
end

-- Space-Saving (Metwally et al. 2005) keeps a top-consumer set at most top_cap
-- members however many distinct callers arrive: a newcomer to a full set
-- takes the place of the current minimum and inherits its count + 1. Every
-- caller with more than total/top_cap requests is guaranteed to be in the set,
-- and a count is overestimated by at most the evicted minimum.
local function bump_top(key, member)
  -- The common case, a caller already in the set, is one command; the key's
  -- expiry (this minute's start + TOP_TTL_SECONDS) is given once, when it is created.
  if call("ZADD", key, "XX", "INCR", 1, member) then return end
  local size = call("ZCARD", key)
  if size < tonumber(ARGV[30]) then  -- top cap, members
    call("ZADD", key, 1, member)
    if size == 0 then call("PEXPIRE", key, ARGV[7]) end  -- top ttl, ms from now
  else
    local lowest = call("ZRANGE", key, 0, 0, "WITHSCORES")
    -- Add before removing, so the set is never empty (and its expiry never lost).
    call("ZADD", key, tonumber(lowest[2]) + 1, member)
    call("ZREM", key, lowest[1])
  end
end

-- Every decision is counted by its door, and first on purpose: Valkey refuses a
-- script's writes for memory (maxmemory, noeviction) only until its first
-- write, and this one needs memory, so a full server refuses the decision here,
-- before the sliding log tidies anything (a deletion, always allowed, would
-- let every later write through).
call("HINCRBY", totals_key, "door:" .. door, 1)

-- 0. What the model must do: nothing for a cached answer, or while another
--    request already generates this prompt (this one waits for it). Read
--    only: a refused request takes no lock and is told nothing of the cache.
local cached = nil
local lock_held = false
local saved_tokens = 0
local saved_ms = 0
if outcome ~= "" then
  -- Cluster: the caller looked up the cache (and took the lock) on the prompt's slot.
  if outcome == "hit" then
    saved_tokens = tonumber(ARGV[32]) or 0
    saved_ms = tonumber(ARGV[33]) or 0
  end
elseif use_cache then
  cached = call("GET", KEYS[4]) or nil  -- a missing key reads as false
  if cached then
    -- store.ts writes an entry as {"createdAt":<ms>,"latencyMs":<ms>,
    -- "usage":{"totalTokens":<n>,...},...}, so a hit reads its three numbers
    -- with one anchored match; an entry in any other shape is decoded whole.
    local created, latency, tokens = string.match(cached, '^{"createdAt":(%d+),"latencyMs":(%d+),"usage":{"totalTokens":(%d+)[,}]')
    if not created then
      local ok, doc = pcall(cjson.decode, cached)
      if ok and type(doc) == "table" then
        created, latency = doc.createdAt, doc.latencyMs
        tokens = type(doc.usage) == "table" and doc.usage.totalTokens or nil
      end
    end
    local max_age = tonumber(ARGV[36]) or 0  -- ms; 0 = any age
    if max_age > 0 and tonumber(created) and now - created > max_age then
      cached = nil  -- older than the client accepts: a miss that refreshes the entry
    else
      saved_tokens = tonumber(tokens) or 0
      saved_ms = tonumber(latency) or 0
    end
  end
  if not cached and lock_ttl > 0 then lock_held = call("EXISTS", KEYS[5]) == 1 end
end
local no_generation = cached ~= nil or lock_held or outcome == "hit" or outcome == "coalesced"

-- 1. Check every dimension without consuming (a tidy only drops what can never count
--    again); the one with the longest wait is "the" refusal.
--    A waivable cost (tokens) is not charged when the model does no work for this request.
local allowed = true
local refused = 0
for i = 1, 3 do
  local d = dims[i]
  if d then
    if d.waivable and no_generation then d.cost = 0 end
    -- tidy: an algorithm may drop state that can never count again (the sliding log does).
    local state = d.impl.check(d.key, now, d.limit, d.window, d.cost, true)
    d.state = state
    if not state.allowed then
      allowed = false
      if refused == 0 or state.retry_after > dims[refused].state.retry_after then refused = i end
    end
  end
end

-- 2. Consume all or nothing. A refused request reports what is left, untouched.
--    expires_at: when the last of this caller's limit keys expires (for the limit index).
local expires_at = 0
if allowed then
  local margin = tonumber(ARGV[10])  -- ms
  for i = 1, 3 do
    local d = dims[i]
    if d and d.cost > 0 then
      local ttl = d.impl.commit(d.key, d.state, now, d.window, d.cost, request_id, margin)
      if ttl and now + ttl > expires_at then expires_at = now + ttl end
    end
  end
else
  for i = 1, 3 do
    local d = dims[i]
    if d and d.state.allowed then d.state = d.impl.check(d.key, now, d.limit, d.window, 0, true) end
  end
end

-- 3. The cache outcome, for admitted requests only. On a miss the first
--    caller takes the generation lock; later identical prompts see it held
--    and wait for that caller's answer (coalesced).
local hit = false
local lock = 0
if allowed and outcome ~= "" then
  hit = outcome == "hit"
  if outcome == "coalesced" then lock = 2 end
elseif allowed and use_cache then
  if cached then
    hit = true
  elseif lock_held then
    lock = 2
  elseif lock_ttl > 0 then
    call("SET", KEYS[5], request_id, "PX", lock_ttl)
    lock = 1
  end
end
if not allowed then
  cached = nil
  saved_tokens = 0
  saved_ms = 0
end

-- 4. Counters: totals, this time bucket, this minute's consumers, the active callers.
--    A coalesced request counts as a hit (and as coalesced): it costs no generation.
--    store.lua moves it to the misses if its wait runs out and it generates after all.
--    The totals keep no "requests" or "allowed": they are the doors' sum and
--    that sum less the blocked (toTotals). A bucket keeps one field per
--    outcome and door, the first letter of each: h(it, coalesced included),
--    m(iss), a(dmitted without a cache outcome), b(locked) × g(enerate),
--    o(penai); toTimeBucket adds them up.
local coalesced = lock == 2
local outcome_field
if allowed then
  if counts_cache and (hit or coalesced) then
    outcome_field = "h"
    call("HINCRBY", totals_key, "hits", 1)
    if saved_tokens ~= 0 then call("HINCRBY", totals_key, "tokens_saved", saved_tokens) end
    if saved_ms ~= 0 then call("HINCRBY", totals_key, "time_saved_ms", saved_ms) end
    if coalesced then call("HINCRBY", totals_key, "coalesced", 1) end
  elseif counts_cache then
    outcome_field = "m"
    call("HINCRBY", totals_key, "misses", 1)
  else
    outcome_field = "a"
  end
else
  outcome_field = "b"
  call("HINCRBY", totals_key, "blocked", 1)
  call("HINCRBY", totals_key, "blocked:" .. dims[refused].name, 1)
  bump_top(KEYS[9], identity)  -- top blocked
end
-- A new field may be a new hash: give it its expiry (again, harmlessly, if
-- the hash was there). Its other writer, store.lua, writes only to the bucket
-- of a decision made here (so to a hash this script created), adds its own
-- field "tok", and sets the expiry again itself.
if call("HINCRBY", bucket_key, outcome_field .. (door == "openai" and "o" or "g"), 1) == 1 then
  call("PEXPIRE", bucket_key, ARGV[6])  -- bucket ttl, ms from now
end
bump_top(top_key, identity)
-- Distinct callers per bucket in a HyperLogLog: at most 12 KB however many
-- callers arrive (a sorted set indexed by expiry grows with the callers and
-- keeps its hash table after being trimmed). It expires TOP_TTL_SECONDS after
-- its bucket's start (ARGV[38]), long before the bucket's hash (610 s):
-- /api/stats counts callers over the last six buckets only (one minute). PFADD
-- answers 1 whenever the HyperLogLog changed, which includes its creation, so
-- the expiry is set again on each change, always to that same instant.
local active_key = KEYS[10]
if call("PFADD", active_key, identity) == 1 then call("PEXPIRE", active_key, ARGV[38]) end  -- callers ttl, ms from now
-- Hot prompts: the prompts answered without the model, Space-Saving like the consumers.
if allowed and (hit or coalesced) and ARGV[37] ~= "" then bump_top(KEYS[12], ARGV[37]) end
-- The limit index: one member per caller with live limit state, scored by when
-- that state is gone. GT only ever moves a score later. The set grows only
-- when a caller joins, so that is when the expired are trimmed: it holds the
-- callers with state and at most those whose state ran out since the last one
-- joined (readers count scores after now). The key outlives its latest score:
-- PEXPIREAT GT moves its expiry only later, and a new key (no expiry, which GT
-- reads as infinite) is given one.
if expires_at > 0 then
  local limit_index_key = KEYS[13]
  if call("ZADD", limit_index_key, "GT", expires_at, identity) == 1 then
    call("ZREMRANGEBYSCORE", limit_index_key, "-inf", now)
    if call("PEXPIRETIME", limit_index_key) < expires_at then
      call("PEXPIREAT", limit_index_key, expires_at)
    end
  else
    call("PEXPIREAT", limit_index_key, expires_at, "GT")
  end
end

-- 5. The event, for outcomes that end here (a miss is logged by store.lua).
--    It names the refusing policy, and shows that dimension's numbers.
local event_type = nil
if not allowed then
  event_type = "blocked"
elseif counts_cache and (hit or coalesced) then
  event_type = "hit"
end
if event_type then
  local shown = dims[refused > 0 and refused or 1]
  local state = shown.state
  -- MAXLEN ~ trims whole nodes only: an exact cap rewrites the oldest node on
  -- every append, which made XADD the costliest command of a hit. The short
  -- field names (n, rem, ck, co, tok) are read back by toActivityEvent() in
  -- lib/stats/snapshot.ts; docs/architecture.md has the glossary.
  call("XADD", events_key, "MAXLEN", "~", ARGV[8], "*",
    "type", event_type, "id", request_id, "who", identity, "tier", ARGV[4],
    "policy", shown.name, "n", state.used, "limit", shown.limit,
    "rem", state.remaining, "reset", state.reset_at,
    "ck", ARGV[9], "tok", saved_tokens, "saved_ms", saved_ms,
    "co", coalesced and 1 or 0, "door", door, "model", ARGV[35], "ts", now)
end

local reply = { allowed and 1 or 0, refused, lock }
local n = 3
for i = 1, 3 do
  local d = dims[i]
  if d then
    local st = d.state
    reply[n + 1] = st.allowed and 1 or 0
    reply[n + 2] = st.remaining
    reply[n + 3] = st.reset_at
    reply[n + 4] = st.retry_after
    reply[n + 5] = st.used
    reply[n + 6] = allowed and d.cost or 0
  else
    for j = n + 1, n + 6 do reply[j] = 0 end
  end
  n = n + 6
end
reply[n + 1] = cached or false
return reply
