"use client";

import dynamic from "next/dynamic";
import { useCallback, useEffect, useRef, useState } from "react";
import { wantsPresent, withoutPresentParam } from "@/lib/dashboard/present-url";

/**
 * Loaded only once presenter mode opens (a click, or `/?present`): the
 * dashboard's first load carries this button and nothing of the story.
 */
const PresenterOverlay = dynamic(() => import("@/components/presenter-overlay").then((m) => m.PresenterOverlay), { ssr: false });

/** Fetching the overlay's code when the pointer or focus reaches the button makes the click feel instant. */
function prefetchOverlay(): void {
  void import("@/components/presenter-overlay");
}

/** The header's "Present" button: opens the guided story over the dashboard, and gives focus back on exit. */
export function PresenterButton() {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);

  useEffect(() => {
    if (wantsPresent(window.location.search)) setOpen(true);
  }, []);

  useEffect(() => {
    if (!open && returnFocus.current) {
      returnFocus.current = false;
      button.current?.focus();
    }
  }, [open]);

  const exit = useCallback(() => {
    if (new URLSearchParams(window.location.search).has("present")) {
      window.history.replaceState(window.history.state, "", withoutPresentParam(window.location.href));
    }
    returnFocus.current = true;
    setOpen(false);
  }, []);

  return (
    <>
      <button
        ref={button}
        type="button"
        data-testid="present-button"
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={() => setOpen(true)}
        onPointerEnter={prefetchOverlay}
        onFocus={prefetchOverlay}
        className="inline-flex items-center gap-2 rounded-full border border-sky-700 bg-sky-500/10 px-3.5 py-1.5 text-sm font-medium text-sky-200 transition-colors hover:border-sky-500 hover:bg-sky-500/20 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 focus-visible:ring-offset-2 focus-visible:ring-offset-slate-950"
      >
        <svg aria-hidden viewBox="0 0 16 16" className="h-4 w-4 fill-current">
          <path d="M4 2.5v11l9-5.5z" />
        </svg>
        Present
      </button>
      {open ? <PresenterOverlay onExit={exit} /> : null}
    </>
  );
}
