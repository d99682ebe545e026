import { notFound } from "next/navigation";
import { connection } from "next/server";
import { getConfig } from "@/lib/config";

/**
 * The framework's floor for the page, for `npm run bench`: the least a page of
 * this app is, rendered per request like the dashboard (so it carries the same
 * root layout, CSP nonce, theme script and stylesheet) with no client
 * component of its own. Lighthouse runs on it beside the dashboard, so the
 * dashboard's figures read as "what it adds over Next.js itself" on whatever
 * machine the bench runs. Off unless BENCH_ROUTES=1; otherwise a 404.
 */
export default async function FloorPage() {
  await connection();
  if (!getConfig().BENCH_ROUTES) notFound();
  return (
    <main className="mx-auto max-w-3xl px-4 py-8">
      <h1 className="text-2xl font-semibold">Flowgate bench floor</h1>
      <p className="mt-2 text-sm text-slate-300">A server-rendered page with no client component: what every page of this app costs before its own code.</p>
    </main>
  );
}
