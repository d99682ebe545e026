"use client";

import { useEffect, useId, useState } from "react";
import { mutate } from "swr";
import { formatMs } from "@/lib/dashboard/format";
import { STATS_URL } from "@/lib/hooks/use-stats";
import { PROMPT_MAX_CHARS, errorBodySchema, generateResponseSchema, type GenerateResponse } from "@/lib/schemas";
import { Badge, Card, cx } from "@/components/ui";

const SHOWN_HEADERS = [
  "x-cache",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
  "ratelimit-policy",
  "ratelimit",
  "retry-after",
  "x-flowgate-identity",
  "x-flowgate-degraded",
];

type Answer =
  | { kind: "ok"; status: number; headers: [string, string][]; body: GenerateResponse; ms: number }
  | { kind: "error"; status: number; headers: [string, string][]; message: string; code: string; ms: number };

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        } catch {
          setCopied(false);
        }
      }}
      className="shrink-0 rounded-md border border-slate-700 px-2 py-1 text-[11px] text-slate-300 hover:border-slate-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500"
    >
      {copied ? "Copied" : "Copy"}
    </button>
  );
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Send one prompt through the gateway and see the answer, X-Cache and the rate-limit headers. */
export function TryItPanel({ className }: { className?: string }) {
  const [prompt, setPrompt] = useState("What is Valkey?");
  const [apiKey, setApiKey] = useState("");
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [origin, setOrigin] = useState("http://localhost:3000");
  const promptId = useId();
  const keyId = useId();
  useEffect(() => setOrigin(window.location.origin), []);

  async function send() {
    if (busy || !prompt.trim()) return;
    setBusy(true);
    const started = performance.now();
    try {
      const res = await fetch("/api/generate", {
        method: "POST",
        headers: { "content-type": "application/json", ...(apiKey.trim() ? { authorization: `Bearer ${apiKey.trim()}` } : {}) },
        body: JSON.stringify({ prompt }),
      });
      const ms = performance.now() - started;
      const headers = SHOWN_HEADERS.flatMap((h) => {
        const v = res.headers.get(h);
        return v === null ? [] : [[h, v] as [string, string]];
      });
      const json: unknown = await res.json().catch(() => null);
      const ok = generateResponseSchema.safeParse(json);
      if (res.ok && ok.success) setAnswer({ kind: "ok", status: res.status, headers, body: ok.data, ms });
      else {
        const err = errorBodySchema.safeParse(json);
        setAnswer({
          kind: "error",
          status: res.status,
          headers,
          message: err.success ? String((json as { message?: string }).message ?? err.data.error) : `HTTP ${res.status}`,
          code: err.success ? err.data.code : "unknown",
          ms,
        });
      }
    } catch (error) {
      setAnswer({ kind: "error", status: 0, headers: [], message: `Could not reach the app: ${(error as Error).message}`, code: "network", ms: 0 });
    } finally {
      setBusy(false);
      void mutate(STATS_URL);
    }
  }

  const keyHeader = apiKey.trim() ? ` -H ${shellQuote(`Authorization: Bearer ${apiKey.trim()}`)}` : "";
  const curlGenerate = `curl -i -X POST ${origin}/api/generate -H 'content-type: application/json'${keyHeader} -d ${shellQuote(JSON.stringify({ prompt }))}`;
  const curlStats = `curl -s ${origin}/api/stats`;
  const curlChat = `curl -sN ${origin}/v1/chat/completions -H 'content-type: application/json'${keyHeader} -d ${shellQuote(
    JSON.stringify({ model: "flowgate-sim-1", stream: true, messages: [{ role: "user", content: prompt }] }),
  )}`;
  // The official OpenAI SDKs read these two variables: an app runs through the gateway unchanged.
  const sdkEnv = `OPENAI_BASE_URL=${origin}/v1 OPENAI_API_KEY=${apiKey.trim() || "demo-pro-key"} node your-app.js`;
  const cache = answer?.headers.find(([h]) => h === "x-cache")?.[1];

  return (
    <Card id="try-it" testId="try-it" title="Try it" subtitle="Send the same prompt twice: the second answer comes from the cache." className={className}>
      <form
        className="space-y-2"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label htmlFor={promptId} className="block text-xs text-slate-400">
          Prompt
        </label>
        <textarea
          id={promptId}
          data-testid="try-prompt"
          value={prompt}
          maxLength={PROMPT_MAX_CHARS}
          rows={2}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) void send();
          }}
          className="w-full resize-y rounded-md border border-slate-700 bg-slate-950 px-2 py-1.5 text-sm text-slate-100 focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-500/40"
        />
        <div className="flex items-end gap-2">
          <label htmlFor={keyId} className="min-w-0 flex-1 text-xs text-slate-400">
            API key <span className="text-slate-400">(optional, e.g. demo-pro-key)</span>
            <input
              id={keyId}
              data-testid="try-key"
              value={apiKey}
              autoComplete="off"
              spellCheck={false}
              onChange={(e) => setApiKey(e.target.value)}
              placeholder="none: limited by IP"
              className="mt-1 w-full rounded-md border border-slate-700 bg-slate-950 px-2 py-1.5 font-mono text-xs text-slate-100 placeholder:text-slate-400 focus:border-sky-500 focus:outline-none focus:ring-2 focus:ring-sky-500/40"
            />
          </label>
          <button
            type="submit"
            data-testid="try-send"
            disabled={busy || !prompt.trim()}
            className="rounded-lg bg-emerald-500 px-4 py-2 text-sm font-semibold text-slate-950 hover:brightness-110 focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-300 disabled:cursor-wait disabled:bg-slate-700 disabled:text-slate-300"
          >
            {busy ? "Sending…" : "Send"}
          </button>
        </div>
      </form>

      <div className="mt-3 min-h-[9rem] rounded-lg border border-slate-800 bg-slate-950/60 p-3 text-xs" data-testid="try-result" aria-live="polite">
        {!answer ? (
          <p className="text-slate-400">The answer, its X-Cache header and the rate-limit headers appear here.</p>
        ) : (
          <div className="space-y-2">
            <div className="flex flex-wrap items-center gap-2">
              <Badge tone={answer.status === 200 ? "miss" : answer.status === 429 ? "blocked" : "warn"}>HTTP {answer.status || "—"}</Badge>
              {cache ? (
                <span data-testid="try-cache">
                  <Badge tone={cache === "HIT" ? "hit" : "neutral"}>X-Cache: {cache}</Badge>
                </span>
              ) : null}
              <span className="text-slate-400">{formatMs(answer.ms)} round trip</span>
            </div>
            {answer.kind === "ok" ? (
              <p className="text-sm leading-relaxed text-slate-200" data-testid="try-response">
                {answer.body.response}
              </p>
            ) : (
              <p role="alert" className="text-sm text-rose-300">
                {answer.message} <span className="font-mono text-rose-300/80">({answer.code})</span>
              </p>
            )}
            {answer.kind === "ok" ? (
              <p className="text-slate-400">
                {answer.body.usage.totalTokens} tokens ·{" "}
                {answer.body.saved ? `saved ${answer.body.saved.tokens} tokens and ${formatMs(answer.body.saved.latencyMs)}` : "generated by the (simulated) model"}
              </p>
            ) : null}
            {answer.headers.length > 0 ? (
              <dl className={cx("grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 border-t border-slate-800 pt-2 font-mono")} data-testid="try-headers">
                {answer.headers.map(([h, v]) => (
                  <div key={h} className="contents">
                    <dt className="text-slate-400">{h}</dt>
                    <dd className="break-all text-slate-200">{v}</dd>
                  </div>
                ))}
              </dl>
            ) : null}
          </div>
        )}
      </div>

      <div className="mt-3 space-y-2">
        {[
          ["curl /api/generate", curlGenerate],
          ["curl /v1/chat/completions (stream)", curlChat],
          ["your OpenAI SDK app", sdkEnv],
          ["curl /api/stats", curlStats],
        ].map(([label, cmd]) => (
          <div key={label} className="flex items-start gap-2">
            {/* Wrapped, not scrolled: readable at 360 px and nothing a keyboard would have to scroll; Copy copies it whole. */}
            <pre className="min-w-0 flex-1 whitespace-pre-wrap break-words rounded-md bg-slate-950 px-2 py-1.5 font-mono text-[11px] text-slate-300">
              <code>{cmd}</code>
            </pre>
            <CopyButton text={cmd as string} label={`Copy ${label}`} />
          </div>
        ))}
      </div>
    </Card>
  );
}
