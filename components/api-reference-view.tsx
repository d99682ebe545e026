"use client";

// First: Scalar validates its configuration with zod, whose JIT probe (new Function) the CSP refuses.
import "@/lib/hooks/zod-jitless";
import { ApiReferenceReact } from "@scalar/api-reference-react";
import "@scalar/api-reference-react/style.css";

/**
 * Scalar's API reference (a Vue app in a React wrapper) over GET /api/openapi.json.
 * Everything it needs is in the bundle: no web fonts (withDefaultFonts), no
 * telemetry, no AI agent, no request proxy, so it works offline and under the
 * page's CSP (connect-src 'self'). Loaded by components/api-reference.tsx only.
 */
export default function ApiReferenceView() {
  return (
    <ApiReferenceReact
      configuration={{
        url: "/api/openapi.json",
        withDefaultFonts: false,
        telemetry: false,
        agent: { disabled: true },
        showDeveloperTools: "never",
        documentDownloadType: "direct",
        // A dozen operations: all of them in view, none behind a closed tag.
        defaultOpenAllTags: true,
        darkMode: document.documentElement.dataset.theme !== "light",
      }}
    />
  );
}
