/**
 * The exact Valkey commands behind each pattern, as the Lua scripts in
 * lib/valkey/scripts run them. A server component: <details> is keyboard-usable
 * without any JavaScript.
 */

interface Pattern {
  title: string;
  why: string;
  commands: { cmd: string; note: string }[];
}

const PATTERNS: Pattern[] = [
  {
    title: "Rate limits: every limit of the plan, all or nothing",
    why: "decide.lua checks each limit of the caller's plan (requests per minute, tokens per minute, a daily quota), each with its own algorithm, and consumes them only if all admit the request: a request refused by its token limit takes nothing from its request limit. The default request limit is an exact sliding-window log in a sorted set; the whole check runs inside one Lua script, so 1,000 concurrent requests cannot both take the last slot.",
    commands: [
      { cmd: "ZREMRANGEBYSCORE fg:{0}:rl:ip:203.0.113.7 -inf <now − window> · ZCARD …", note: "sliding log: drop the entries that can never count again, then what is left is the window" },
      { cmd: "ZRANGE fg:{0}:rl:ip:203.0.113.7 0 0 WITHSCORES", note: "oldest entry in the window → reset time (and, when refused, the entry whose leaving makes room → Retry-After)" },
      { cmd: "HMGET fg:{0}:rl:tokens.token-bucket:key:3c9e… lvl ts", note: "token bucket for tokens per minute: level and last refill" },
      { cmd: "HMGET fg:{0}:rl:daily.fixed-window:key:3c9e… w n", note: "fixed window for the daily quota: window index and count" },
      { cmd: "ZADD fg:{0}:rl:ip:203.0.113.7 <now> <request-id> · PEXPIRE … <window + 1000>", note: "only when every limit admits: commit all" },
      { cmd: "ZADD fg:{0}:idx:limits GT <expiry-ms> <identity>", note: "index of callers with live limit state, for the TTL histogram" },
    ],
  },
  {
    title: "Prompt cache (SHA-256 keys)",
    why: "The key is the SHA-256 of the model and the normalized prompt (Unicode NFKC, lower case, whitespace collapsed). A hit is read in the same script as the rate limit: one round trip. A miss is stored after the model answers: a second one.",
    commands: [
      { cmd: "GET fg:cache:{<sha256>}", note: "inside decide.lua, for admitted requests only" },
      { cmd: "EXISTS fg:lock:{<sha256>} · SET fg:lock:{<sha256>} <request-id> PX 10000", note: "on a miss: one caller generates, identical prompts wait for its answer (no NX needed: the script is atomic)" },
      { cmd: "SET fg:cache:{<sha256>} <json> EX 3600", note: "store.lua, after a miss" },
      { cmd: "ZADD fg:{0}:idx:cache <expiry-ms> <sha256>", note: "index scored by expiry: cached prompts = ZCOUNT now +inf" },
    ],
  },
  {
    title: "Decision stream (capped Stream)",
    why: "Every blocked request, hit and miss is appended with its identity (API keys only as a hash), tier, window use, cache key and tokens. The cap is applied in the same call, by whole stream nodes: the stream keeps at least 1,000 entries and at most one node more.",
    commands: [
      { cmd: "XADD fg:{0}:events MAXLEN ~ 1000 * type hit who ip:203.0.113.7 …", note: "blocked and hits in decide.lua, misses in store.lua" },
      { cmd: "XREVRANGE fg:{0}:events + - COUNT 20", note: "the activity feed" },
    ],
  },
  {
    title: "Counters and charts, without scanning",
    why: "Totals live in one hash, traffic in 10-second bucket hashes that expire when they leave the 10-minute chart, consumers in per-minute sorted sets. Only what cannot be derived is counted (requests are the doors' sum), and a key's expiry is set once, when it is created. /api/stats reads a fixed list of keys: its cost does not grow with the keyspace.",
    commands: [
      { cmd: "HINCRBY fg:{0}:stats door:generate 1 · HINCRBY … hits 1", note: "and misses / blocked / coalesced / tokens saved: requests and allowed are sums of these" },
      { cmd: "HINCRBY fg:{0}:ts:<bucket-ms> hg 1 · PEXPIRE … <until 610 s after the bucket's start>", note: "the traffic chart: one field per outcome and door (hg = hit via generate); expiry on the first write only" },
      { cmd: "ZADD fg:{0}:top:<minute> XX INCR 1 <identity>", note: "top consumers (and top-blocked: for blocks): one command for a caller already in the set" },
      { cmd: "ZCARD … · ZADD … 1 <identity> · PEXPIRE … <until 120 s after the minute's start>", note: "a newcomer; to a full set of 1,000 it replaces the minimum instead (ZRANGE … 0 0 WITHSCORES, ZADD, ZREM: Space-Saving)" },
      { cmd: "PFADD fg:{0}:callers:<bucket-ms> <identity> · PFCOUNT over the last 6 buckets", note: "distinct callers of the last minute in fixed memory, no KEYS" },
    ],
  },
];

export function CommandsExplainer() {
  return (
    <section aria-label="Valkey commands under the hood" data-testid="commands" className="rounded-xl border border-slate-800 bg-slate-900/60 p-4 sm:p-5">
      <h2 className="text-sm font-semibold text-slate-100">Valkey commands under the hood</h2>
      <p className="mt-0.5 text-xs text-slate-400">What each request runs, step by step. Open a pattern to see the commands.</p>
      <div className="mt-3 space-y-2">
        {PATTERNS.map((p) => (
          <details key={p.title} className="group rounded-lg border border-slate-800 bg-slate-950/40 open:border-slate-700">
            <summary className="flex cursor-pointer list-none items-center justify-between gap-3 px-3 py-2.5 text-sm text-slate-200 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500">
              {p.title}
              <span aria-hidden className="text-slate-400 transition-transform group-open:rotate-180">▾</span>
            </summary>
            <div className="space-y-2 px-3 pb-3">
              <p className="text-xs leading-relaxed text-slate-400">{p.why}</p>
              <ol className="space-y-1">
                {p.commands.map((c) => (
                  <li key={c.cmd} className="rounded-md bg-slate-950 px-2 py-1.5">
                    <code className="block whitespace-pre-wrap break-all font-mono text-[11px] text-sky-200">{c.cmd}</code>
                    <span className="text-[11px] text-slate-400">{c.note}</span>
                  </li>
                ))}
              </ol>
            </div>
          </details>
        ))}
      </div>
    </section>
  );
}
