"use client";

import { startTransition, useEffect, useRef, useState, type ReactNode } from "react";
import { Skeleton, cx } from "@/components/ui";

/**
 * Mounts its children once they come near the viewport, or as soon as the
 * viewer does anything (presses a key, clicks, touches), or at once when the
 * address names an anchor. Until then it holds their place with a skeleton of
 * about their height, and their code (next/dynamic) is not even fetched: a
 * phone that opens the dashboard runs the first screen's JavaScript only.
 *
 * A key press mounts everything so a keyboard user tabbing on meets every
 * control; a click does, so a link to a later panel (#simulator) finds it.
 *
 * Panels that come into view together are revealed one after another, each
 * once the one before has drawn, and each as a transition (React renders it
 * in slices and lets the browser answer input between them). Their code is
 * fetched at once, in parallel (`preload`). A desktop's first screen holds
 * four chart panels: mounted together they were one main-thread task of
 * ~240 ms (a long task Lighthouse counts against the page); one at a time,
 * each is a short one.
 */

type Wake = () => void;
const sleepers = new Set<Wake>();
let awake = false;

function wakeAll(): void {
  if (awake) return;
  awake = true;
  for (const wake of sleepers) wake();
  sleepers.clear();
  for (const type of INTERACTIONS) window.removeEventListener(type, wakeAll, true);
}

/** A panel waiting its turn: `reveal` mounts it, `drawn` says when the next may follow. */
interface Turn {
  reveal: () => void;
  drawn: () => boolean;
}
const turns: Turn[] = [];
let revealing = false;
/** The longest one panel holds the others back (its code may be slow to arrive). */
const TURN_CAP_MS = 3000;
const TURN_POLL_MS = 16;

function takeTurns(): void {
  if (revealing) return;
  const turn = turns.shift();
  if (!turn) return;
  revealing = true;
  turn.reveal();
  const until = performance.now() + TURN_CAP_MS;
  const check = () => {
    if (!turn.drawn() && performance.now() < until) {
      setTimeout(check, TURN_POLL_MS);
      return;
    }
    revealing = false;
    // A task of its own for the next panel: the browser paints and handles input in between.
    setTimeout(takeTurns, 0);
  };
  setTimeout(check, TURN_POLL_MS);
}

const INTERACTIONS = ["keydown", "pointerdown", "touchstart"] as const;
/** Share of a placeholder on screen that mounts its panel. */
const VISIBLE_SHARE = 0.2;

function listen(): void {
  for (const type of INTERACTIONS) window.addEventListener(type, wakeAll, { capture: true, passive: true });
}

export function Deferred({
  children,
  className,
  placeholderClassName,
  label,
  preload,
}: {
  children: ReactNode;
  className?: string;
  /** The skeleton's size while waiting: about the panels' own, so nothing jumps when they arrive. */
  placeholderClassName: string;
  /** What is coming, for screen readers while the skeleton shows. */
  label: string;
  /** Starts fetching the panel's code (its dynamic import), so it arrives while earlier panels draw. */
  preload?: () => Promise<unknown>;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(false);

  useEffect(() => {
    if (shown) return;
    let queued: Turn | null = null;
    const show = () => {
      if (queued) return;
      preload?.().catch(() => undefined); // next/dynamic reports a failed load when it renders
      queued = {
        reveal: () => startTransition(() => setShown(true)),
        // Drawn: mounted, and no panel skeleton left inside (next/dynamic's `loading` marks its own).
        drawn: () => !ref.current || (ref.current.dataset.deferred === "shown" && !ref.current.querySelector("[data-panel-loading]")),
      };
      turns.push(queued);
      takeTurns();
    };
    const leaveQueue = () => {
      const waiting = queued ? turns.indexOf(queued) : -1;
      if (waiting >= 0) turns.splice(waiting, 1);
    };
    if (awake || window.location.hash) {
      show();
      return leaveQueue;
    }
    sleepers.add(show);
    if (sleepers.size === 1) listen();
    let observer: IntersectionObserver | null = null;
    if ("IntersectionObserver" in window && ref.current) {
      // A panel mounts once a fifth of its place is on screen: one whose top edge merely peeks in
      // at the bottom of a phone's first screen waits for the first scroll.
      observer = new IntersectionObserver((entries) => entries.some((e) => e.intersectionRatio >= VISIBLE_SHARE) && show(), {
        threshold: [VISIBLE_SHARE],
      });
      observer.observe(ref.current);
    } else {
      show();
    }
    return () => {
      sleepers.delete(show);
      observer?.disconnect();
      leaveQueue();
    };
  }, [shown, preload]);

  // Mounted by a link's click (or opened at an anchor): the browser looked for the anchor before it
  // existed, and the click's navigation may come after this mounted. The panel's code arrives a
  // moment later, so look for the anchor for a few seconds, now and whenever the hash changes.
  useEffect(() => {
    if (!shown) return;
    let frame = 0;
    const seek = () => {
      cancelAnimationFrame(frame);
      if (!window.location.hash) return;
      const id = decodeURIComponent(window.location.hash.slice(1));
      const until = performance.now() + 5000;
      const find = () => {
        const target = document.getElementById(id);
        if (target && ref.current?.contains(target)) target.scrollIntoView();
        else if (!target && performance.now() < until) frame = requestAnimationFrame(find);
      };
      find();
    };
    seek();
    window.addEventListener("hashchange", seek);
    return () => {
      cancelAnimationFrame(frame);
      window.removeEventListener("hashchange", seek);
    };
  }, [shown]);

  return (
    // min-w-0: as a grid item the wrapper must not grow to its content's width (a phone's page would scroll sideways).
    <div ref={ref} className={cx("min-w-0", className)} data-deferred={shown ? "shown" : "waiting"}>
      {shown ? (
        children
      ) : (
        <div role="status" aria-label={`${label}: loading`} className={cx("rounded-xl border border-slate-800 bg-slate-900/40 p-4", placeholderClassName)}>
          <Skeleton className="h-5 w-40" />
        </div>
      )}
    </div>
  );
}
