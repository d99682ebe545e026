"use client";

import { useEffect, useRef, useState, type ReactNode } from "react";
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
}: {
  children: ReactNode;
  className?: string;
  /** The skeleton's size while waiting: about the panels' own, so nothing jumps when they arrive. */
  placeholderClassName: string;
  /** What is coming, for screen readers while the skeleton shows. */
  label: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(false);

  useEffect(() => {
    if (shown) return;
    if (awake || window.location.hash) {
      setShown(true);
      return;
    }
    const show = () => setShown(true);
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
    };
  }, [shown]);

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
