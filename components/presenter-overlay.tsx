"use client";

import { useCallback, useEffect, useId, useReducer, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { mutate } from "swr";
import { StepProblemError, loadStep } from "@/components/presenter-traffic";
import { cx } from "@/components/ui";
import {
  STEP_COUNT,
  STEP_IDS,
  STEP_LOADING,
  STEP_TITLES,
  captionFor,
  dwellProgress,
  initialPresenterState,
  presenterReducer,
  problemCaption,
  secondsToAdvance,
  type StepId,
} from "@/lib/dashboard/presenter";
import { STATS_URL } from "@/lib/hooks/use-stats";

/**
 * Presenter mode: a full-screen dialog over the dashboard that tells the
 * story step by step, each step sending real traffic and captioning what came
 * back. Keyboard: → (or Page Down) next, ← (Page Up) back, space pause, Esc
 * leave. The step machine is lib/dashboard/presenter.ts; the traffic is
 * components/presenter-traffic.ts.
 */

const FIGURE_TONE: Record<StepId, string> = {
  quiet: "text-slate-50",
  burst: "text-sky-300",
  many: "text-sky-300",
  cache: "text-emerald-300",
  why: "text-rose-300",
  lab: "text-amber-300",
  valkey: "text-sky-300",
};

const FOCUSABLE = 'button:not([disabled]), [href], input:not([disabled]), [tabindex]:not([tabindex="-1"])';

interface Progress {
  index: number;
  done: number;
  total: number;
}

export function PresenterOverlay({ onExit }: { onExit: () => void }) {
  const [state, dispatch] = useReducer(presenterReducer, undefined, () => initialPresenterState(Date.now()));
  const [progress, setProgress] = useState<Progress | null>(null);
  const dialog = useRef<HTMLDivElement>(null);
  const controllers = useRef(new Set<AbortController>());
  const titleId = useId();
  const stepId = STEP_IDS[state.index] as StepId;

  // Each step's traffic starts when the machine asks (loadSeq), and is not cut short by moving on:
  // its figures wait for the presenter's return. Leaving presenter mode aborts whatever is in flight.
  useEffect(() => {
    if (state.loadSeq === 0) return;
    const index = state.loadIndex;
    const id = STEP_IDS[index] as StepId;
    const controller = new AbortController();
    controllers.current.add(controller);
    let lastPaint = 0;
    setProgress(null);
    loadStep({
      id,
      signal: controller.signal,
      onProgress: (done, total) => {
        const t = performance.now();
        if (t - lastPaint > 100 || done === total) {
          lastPaint = t;
          setProgress({ index, done, total });
        }
      },
    })
      .then((figures) => dispatch({ type: "loaded", index, figures, now: Date.now() }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        const problem =
          error instanceof StepProblemError
            ? error.problem
            : { kind: "failed" as const, message: error instanceof Error && error.message ? `${error.message}.` : "Something went wrong." };
        dispatch({ type: "failed", index, problem, now: Date.now() });
      })
      .finally(() => {
        controllers.current.delete(controller);
        // The dashboard behind catches up with the traffic now rather than at its next poll.
        if (id !== "quiet" && !controller.signal.aborted) void mutate(STATS_URL);
      });
  }, [state.loadSeq, state.loadIndex]);

  useEffect(() => {
    const all = controllers.current;
    return () => {
      for (const c of all) c.abort();
      all.clear();
    };
  }, []);

  // The clock of auto-advance, only while something will advance.
  const ticking = state.advanceAt !== null;
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => dispatch({ type: "tick", now: Date.now() }), 250);
    return () => clearInterval(timer);
  }, [ticking]);

  const next = useCallback(() => dispatch({ type: "next", now: Date.now() }), []);
  const prev = useCallback(() => dispatch({ type: "prev", now: Date.now() }), []);
  const togglePause = useCallback(() => dispatch({ type: "toggle-pause", now: Date.now() }), []);
  const retry = useCallback(() => dispatch({ type: "retry", now: Date.now() }), []);

  // Focus moves in, stays in (Tab wraps), and the page behind does not scroll.
  useEffect(() => {
    dialog.current?.focus();
    const root = document.documentElement;
    const overflow = root.style.overflow;
    root.style.overflow = "hidden";
    return () => {
      root.style.overflow = overflow;
    };
  }, []);

  // A focused button can vanish or be disabled when the step changes (Continue, Next on the last
  // step); focus would fall to <body>, outside the dialog. Bring it back.
  useEffect(() => {
    const node = dialog.current;
    if (node && !node.contains(document.activeElement)) node.focus();
  }, [state.index, state.status]);

  useEffect(() => {
    function onKeyDown(event: KeyboardEvent) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const node = dialog.current;
      if (!node) return;
      switch (event.key) {
        case "ArrowRight":
        case "PageDown":
          event.preventDefault();
          next();
          return;
        case "ArrowLeft":
        case "PageUp":
          event.preventDefault();
          prev();
          return;
        case " ":
        case "Spacebar":
          // Also keeps a focused button from taking the space as a click.
          event.preventDefault();
          if (!event.repeat) togglePause();
          return;
        case "Escape":
          event.preventDefault();
          onExit();
          return;
        case "Tab": {
          const items = Array.from(node.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => el.offsetParent !== null);
          if (items.length === 0) {
            event.preventDefault();
            node.focus();
            return;
          }
          const first = items[0] as HTMLElement;
          const last = items[items.length - 1] as HTMLElement;
          const active = document.activeElement;
          const inside = active instanceof Node && node.contains(active);
          if (event.shiftKey && (active === first || active === node || !inside)) {
            event.preventDefault();
            last.focus();
          } else if (!event.shiftKey && (active === last || !inside)) {
            event.preventDefault();
            first.focus();
          }
          return;
        }
      }
    }
    function onFocusIn(event: FocusEvent) {
      const node = dialog.current;
      if (node && event.target instanceof Node && !node.contains(event.target)) node.focus();
    }
    document.addEventListener("keydown", onKeyDown, true);
    document.addEventListener("focusin", onFocusIn);
    return () => {
      document.removeEventListener("keydown", onKeyDown, true);
      document.removeEventListener("focusin", onFocusIn);
    };
  }, [next, prev, togglePause, onExit]);

  const figures = state.figures[state.index];
  const caption = state.status === "ready" && figures ? captionFor(figures) : null;
  const problem = state.status === "problem" && state.problem ? problemCaption(state.problem) : null;
  const isLast = state.index === STEP_COUNT - 1;
  const dwell = dwellProgress(state);
  const seconds = secondsToAdvance(state);
  const run = progress && progress.index === state.index && state.status === "loading" ? progress : null;
  const eventId = figures?.id === "why" ? figures.event?.id : undefined;

  const status = state.paused
    ? "Paused · space to resume"
    : state.status === "loading"
      ? "Traffic in flight…"
      : state.status === "problem"
        ? "Waiting for you"
        : isLast
          ? "The end · Esc returns to the dashboard"
          : seconds !== null
            ? `Next step in ${seconds} s`
            : "";

  return createPortal(
    <div
      ref={dialog}
      role="dialog"
      aria-modal="true"
      aria-labelledby={titleId}
      tabIndex={-1}
      data-testid="presenter"
      data-step={stepId}
      data-status={state.status}
      data-paused={state.paused ? "true" : "false"}
      className="fixed inset-0 z-50 flex flex-col overflow-y-auto bg-slate-950 text-slate-100 outline-none"
    >
      <header className="flex items-center gap-6 border-b border-slate-800/80 px-[4vw] py-5">
        <h2 id={titleId} className="flex shrink-0 items-center gap-2.5 text-xl font-semibold tracking-tight">
          <svg aria-hidden viewBox="0 0 32 32" className="h-8 w-8">
            <rect width="32" height="32" rx="7" fill="#0f172a" />
            <path d="M7 9h18M7 16h12M7 23h7" stroke="#38bdf8" strokeWidth="3" strokeLinecap="round" />
            <circle cx="24" cy="22" r="4" fill="#34d399" />
          </svg>
          Flowgate, live
        </h2>
        <ol aria-label="Steps" data-testid="presenter-steps" className="flex min-w-0 flex-1 items-center justify-center gap-2">
          {STEP_IDS.map((id, i) => {
            const done = i < state.index;
            const current = i === state.index;
            return (
              <li key={id} aria-current={current ? "step" : undefined} className="flex min-w-0 items-center gap-2">
                <span
                  aria-hidden
                  className={cx(
                    "flex h-8 w-8 shrink-0 items-center justify-center rounded-full border text-sm font-semibold tabular-nums",
                    current ? "border-sky-400 bg-sky-400 text-slate-950" : done ? "border-emerald-500/70 text-emerald-300" : "border-slate-600 text-slate-400",
                  )}
                >
                  {i + 1}
                </span>
                <span
                  className={cx(
                    "truncate text-sm",
                    // Every title where they fit (1920 wide); below that, the current one only.
                    current ? "hidden font-medium text-slate-100 lg:inline" : "hidden text-slate-400 min-[1800px]:inline",
                  )}
                >
                  <span className="sr-only">Step {i + 1}: </span>
                  {STEP_TITLES[id]}
                  {done ? <span className="sr-only"> (done)</span> : null}
                </span>
                {i < STEP_COUNT - 1 ? <span aria-hidden className="hidden h-px w-6 bg-slate-700 lg:block" /> : null}
              </li>
            );
          })}
        </ol>
        <button
          type="button"
          onClick={onExit}
          data-testid="presenter-exit"
          className="shrink-0 rounded-lg border border-slate-700 px-4 py-2 text-base text-slate-200 hover:border-slate-500 hover:bg-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
        >
          Exit <kbd className="ml-1 rounded border border-slate-600 px-1.5 py-0.5 font-mono text-xs text-slate-400">Esc</kbd>
        </button>
      </header>

      <main className="flex flex-1 flex-col justify-center px-[6vw] py-[4vh]">
        <div aria-live="polite" aria-atomic="true" data-testid="presenter-caption" data-event-id={eventId} className="max-w-[88rem]">
          <p className="text-[clamp(1rem,1.4vw,1.75rem)] font-medium uppercase tracking-[0.14em] text-sky-300">
            Step {state.index + 1} of {STEP_COUNT} · {STEP_TITLES[stepId]}
          </p>

          {caption ? (
            <>
              <p className="mt-[2.5vh] flex flex-wrap items-baseline gap-x-6 gap-y-2">
                <span
                  data-testid="presenter-figure"
                  className={cx("text-[clamp(4rem,9vw,11rem)] font-semibold leading-none tracking-tight tabular-nums", FIGURE_TONE[stepId])}
                >
                  {caption.figure}
                </span>
                <span className="text-[clamp(1.25rem,2vw,2.5rem)] text-slate-300">{caption.figureLabel}</span>
              </p>
              <p data-testid="presenter-text" className="mt-[3vh] max-w-[80rem] text-[clamp(1.5rem,2.3vw,3rem)] leading-snug text-slate-100">
                {caption.text}
              </p>
            </>
          ) : problem ? (
            <div role="alert" data-testid="presenter-problem" className="mt-[3vh]">
              <p className="text-[clamp(2.25rem,4.5vw,5rem)] font-semibold leading-tight text-rose-300">{problem.title}</p>
              <p data-testid="presenter-text" className="mt-[2.5vh] max-w-[80rem] text-[clamp(1.5rem,2.3vw,3rem)] leading-snug text-slate-100">
                {problem.text}
              </p>
            </div>
          ) : (
            <p
              data-testid="presenter-loading"
              className="mt-[3vh] max-w-[80rem] text-[clamp(1.75rem,3vw,3.5rem)] leading-snug text-slate-300 motion-safe:animate-pulse"
            >
              {STEP_LOADING[stepId]}
            </p>
          )}
        </div>

        {caption && caption.facts.length > 0 ? (
          <dl data-testid="presenter-facts" className="mt-[5vh] grid max-w-[88rem] grid-cols-2 gap-4 lg:grid-cols-4">
            {caption.facts.slice(0, 4).map((fact) => (
              <div key={fact.label} className="min-w-0 rounded-2xl border border-slate-800 bg-slate-900/70 px-5 py-4">
                <dd className="truncate text-[clamp(1.25rem,2vw,2.5rem)] font-semibold tabular-nums text-slate-50">{fact.value}</dd>
                <dt className="mt-1 truncate text-[clamp(0.875rem,1vw,1.25rem)] text-slate-400">{fact.label}</dt>
              </div>
            ))}
          </dl>
        ) : null}

        {state.status === "loading" ? (
          <div className="mt-[5vh] max-w-[60rem]">
            <div
              role="progressbar"
              aria-label="Requests settled"
              aria-valuemin={0}
              aria-valuemax={run?.total ?? 100}
              aria-valuenow={run?.done ?? 0}
              className="h-3 w-full overflow-hidden rounded-full bg-slate-800"
            >
              <div
                className="h-full rounded-full bg-sky-400 motion-safe:transition-[width] motion-safe:duration-150"
                style={{ width: run ? `${(100 * run.done) / Math.max(1, run.total)}%` : "0%" }}
              />
            </div>
            <p className="mt-2 text-lg tabular-nums text-slate-400">{run ? `${run.done.toLocaleString("en-US")} of ${run.total.toLocaleString("en-US")} requests settled` : " "}</p>
          </div>
        ) : null}

        {problem ? (
          <div className="mt-[5vh] flex flex-wrap gap-4">
            <button
              type="button"
              onClick={retry}
              data-testid="presenter-retry"
              className="rounded-xl border border-slate-600 px-6 py-3 text-xl text-slate-100 hover:border-slate-400 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
            >
              Try again
            </button>
            {!isLast ? (
              <button
                type="button"
                onClick={next}
                data-testid="presenter-continue"
                className="rounded-xl bg-sky-500 px-6 py-3 text-xl font-semibold text-slate-950 hover:bg-sky-400 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-200"
              >
                Continue →
              </button>
            ) : null}
          </div>
        ) : null}
      </main>

      <footer className="border-t border-slate-800/80 px-[4vw] py-4">
        <div className="flex flex-wrap items-center gap-4">
          <div className="flex items-center gap-2">
            <button
              type="button"
              onClick={prev}
              disabled={state.index === 0}
              data-testid="presenter-prev"
              className="rounded-lg border border-slate-700 px-4 py-2 text-base text-slate-200 hover:border-slate-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 disabled:cursor-not-allowed disabled:opacity-40"
            >
              ← Back
            </button>
            <button
              type="button"
              onClick={togglePause}
              aria-pressed={state.paused}
              data-testid="presenter-pause"
              className="w-32 rounded-lg border border-slate-700 px-4 py-2 text-base text-slate-200 hover:border-slate-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
            >
              {state.paused ? "Resume" : "Pause"}
            </button>
            <button
              type="button"
              onClick={next}
              disabled={isLast}
              data-testid="presenter-next"
              className="rounded-lg bg-sky-500 px-4 py-2 text-base font-semibold text-slate-950 hover:bg-sky-400 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-200 disabled:cursor-not-allowed disabled:bg-slate-700 disabled:text-slate-300"
            >
              Next →
            </button>
          </div>
          <p data-testid="presenter-status" className="min-w-48 text-base tabular-nums text-slate-300">
            {status}
          </p>
          <p className="ml-auto hidden text-sm text-slate-500 lg:block">
            <kbd className="font-mono">→</kbd> next · <kbd className="font-mono">←</kbd> back · <kbd className="font-mono">space</kbd> pause ·{" "}
            <kbd className="font-mono">Esc</kbd> exit
          </p>
        </div>
        <div aria-hidden className="mt-3 h-1 w-full overflow-hidden rounded-full bg-slate-800/80 motion-reduce:hidden">
          <div
            className={cx("h-full bg-sky-500/70", state.paused ? "" : "motion-safe:transition-[width] motion-safe:duration-300 motion-safe:ease-linear")}
            style={{ width: `${Math.round((dwell ?? 0) * 1000) / 10}%` }}
          />
        </div>
      </footer>
    </div>,
    document.body,
  );
}
