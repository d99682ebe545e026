import type { Metadata } from "next";
import { connection } from "next/server";
import { ApiReference } from "@/components/api-reference";

export const metadata: Metadata = {
  title: "Flowgate API reference",
  description: "Every route of the gateway, its bodies, headers and errors: the OpenAPI 3.1 document at /api/openapi.json.",
};

export default async function DocsPage() {
  // Rendered per request so proxy.ts's CSP nonce reaches Next's scripts.
  await connection();
  return (
    <div className="flex min-h-screen flex-col">
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-800 px-4 py-3 text-sm">
        <h1 className="font-semibold tracking-tight">Flowgate API reference</h1>
        <nav className="flex gap-4 text-slate-400">
          <a className="underline decoration-slate-600 underline-offset-2 hover:text-slate-200" href="/">
            Dashboard
          </a>
          <a className="underline decoration-slate-600 underline-offset-2 hover:text-slate-200" href="/api/openapi.json">
            openapi.json
          </a>
        </nav>
      </header>
      <main className="flex-1">
        <ApiReference />
      </main>
    </div>
  );
}
