"use client";

import dynamic from "next/dynamic";
import { Skeleton } from "@/components/ui";

/**
 * The /docs page's reference: its code and stylesheet (components/api-reference-view.tsx)
 * are fetched by /docs alone, and only in the browser (the Vue app touches
 * window as it loads), so the dashboard's first load never carries them.
 */
const ApiReferenceView = dynamic(() => import("@/components/api-reference-view"), {
  ssr: false,
  loading: () => (
    <div data-testid="api-reference-loading" role="status" aria-label="API reference: loading" className="p-6">
      <Skeleton className="h-[70vh] w-full" />
    </div>
  ),
});

export function ApiReference() {
  return (
    <div data-testid="api-reference">
      <ApiReferenceView />
    </div>
  );
}
