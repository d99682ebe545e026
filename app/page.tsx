import { connection } from "next/server";
import { CommandsExplainer } from "@/components/commands-explainer";
import { ActivityAndTryIt, KeysAndValkey, LabSection, TrafficAndSimulator, UnderTheHood } from "@/components/later-panels";
import { ConnectionBadge, OutageBanner } from "@/components/connection-badge";
import { PresenterButton } from "@/components/presenter-button";
import { StatCards } from "@/components/stat-cards";
import { ThemeToggle } from "@/components/theme-toggle";
import { LegendDot, OUTCOME_COLORS } from "@/components/ui";

export default async function DashboardPage() {
  // Rendered per request so proxy.ts's CSP nonce reaches Next's scripts.
  await connection();
  return (
    <div className="mx-auto flex max-w-7xl flex-col gap-4 px-3 py-5 sm:px-6 sm:py-8">
      <header className="flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
        <div>
          <h1 className="flex items-center gap-2 text-2xl font-semibold tracking-tight">
            <svg aria-hidden viewBox="0 0 32 32" className="h-7 w-7">
              <rect width="32" height="32" rx="7" fill="#0f172a" />
              <path d="M7 9h18M7 16h12M7 23h7" stroke="#38bdf8" strokeWidth="3" strokeLinecap="round" />
              <circle cx="24" cy="22" r="4" fill="#34d399" />
            </svg>
            Flowgate
          </h1>
          <p className="mt-1 text-sm text-slate-400">A live AI-API gateway on Valkey: who is calling, who is refused, what the cache saves.</p>
        </div>
        <div className="flex flex-wrap items-center justify-end gap-3">
          <PresenterButton />
          <ConnectionBadge />
          <ThemeToggle />
        </div>
      </header>

      <main className="flex flex-col gap-4">
        <OutageBanner />

        <p className="rounded-xl border border-slate-800 bg-slate-900/40 px-4 py-3 text-sm leading-relaxed text-slate-300">
          Every request, to <code className="text-sky-300">POST /api/generate</code> or through the OpenAI API at{" "}
          <code className="text-sky-300">/v1</code> (point any OpenAI SDK here), is identified (API key, else IP), checked against its
          plan&apos;s limits, answered from a prompt cache when the same question was asked before, and logged, in one atomic Valkey
          call. <span className="whitespace-nowrap"><LegendDot color={OUTCOME_COLORS.generated} label="answered by the model" /></span>{" "}
          <span className="whitespace-nowrap"><LegendDot color={OUTCOME_COLORS.cached} label="from the cache" /></span>{" "}
          <span className="whitespace-nowrap"><LegendDot color={OUTCOME_COLORS.blocked} label="refused (429)" /></span>.{" "}
          <a href="#simulator" className="text-sky-300 underline decoration-sky-700 underline-offset-2 hover:text-sky-200">
            Fire the simulator
          </a>{" "}
          to watch it work.
        </p>

        <StatCards />

        {/* Below the stat cards, each group mounts (and fetches its code) as it comes near the viewport. */}
        <TrafficAndSimulator />
        <ActivityAndTryIt />
        <LabSection />
        <KeysAndValkey explainer={<CommandsExplainer />} />
        <UnderTheHood />
      </main>

      <footer className="flex flex-col gap-1 border-t border-slate-800 pt-4 text-xs text-slate-400 sm:flex-row sm:justify-between">
        <span>Flowgate: rate limiting, prompt caching and decision logging on Valkey. The LLM is simulated.</span>
        <span>
          <a className="underline decoration-slate-600 underline-offset-2 hover:text-slate-200" href="/docs">API reference</a> ·{" "}
          <a className="underline decoration-slate-600 underline-offset-2 hover:text-slate-200" href="/api/stats">/api/stats</a> · Next.js · Recharts · ioredis
        </span>
      </footer>
    </div>
  );
}
