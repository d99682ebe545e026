import { StatsPeek } from "@/components/stats-peek";

const ENDPOINTS = [
  { method: "POST", path: "/api/generate", what: "A simulated LLM call: identified, rate-limited, cached, logged." },
  { method: "GET", path: "/api/stats", what: "Everything the dashboard shows, in one snapshot." },
  { method: "POST", path: "/api/simulate", what: "A bounded burst through the same path (default 50)." },
];

export default function Home() {
  return (
    <main className="mx-auto max-w-3xl space-y-8 px-4 py-10">
      <header className="space-y-2">
        <h1 className="text-3xl font-semibold">Flowgate</h1>
        <p className="text-slate-300">An AI-API gateway on Valkey: sliding-window rate limits, a SHA-256 prompt cache and a capped decision stream.</p>
      </header>
      <StatsPeek />
      <ul className="space-y-3">
        {ENDPOINTS.map((e) => (
          <li key={e.path} className="rounded-lg border border-slate-800 p-4">
            <code className="text-sky-400">{e.method}</code> <a className="underline" href={e.path}>{e.path}</a>
            <p className="text-sm text-slate-400">{e.what}</p>
          </li>
        ))}
      </ul>
    </main>
  );
}
