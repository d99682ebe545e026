"use client";

import { useEffect, useState, type ReactNode } from "react";
import { LIGHT_QUERY, THEME_CHOICES, THEME_STORAGE_KEY, parseThemeChoice, resolveTheme, type ThemeChoice } from "@/lib/theme";
import { cx } from "@/components/ui";

const LOOK: Record<ThemeChoice, { label: string; icon: ReactNode }> = {
  system: {
    label: "System",
    icon: (
      <>
        <rect x="3" y="4" width="18" height="12" rx="2" />
        <path d="M8 20h8M12 16v4" />
      </>
    ),
  },
  light: {
    label: "Light",
    icon: (
      <>
        <circle cx="12" cy="12" r="4" />
        <path d="M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4" />
      </>
    ),
  },
  dark: { label: "Dark", icon: <path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5Z" /> },
};

function readChoice(): ThemeChoice {
  try {
    return parseThemeChoice(localStorage.getItem(THEME_STORAGE_KEY));
  } catch {
    return "system";
  }
}

/**
 * System / light / dark. The choice is kept in localStorage ("system" removes
 * it); lib/theme.ts's inline script applies it before the first paint, and
 * this keeps <html data-theme> current afterwards: on a click, when the OS
 * switches while on "system", and when another tab changes it.
 */
export function ThemeToggle() {
  // Unknown until mounted: the server cannot read localStorage.
  const [choice, setChoice] = useState<ThemeChoice | null>(null);

  useEffect(() => {
    setChoice(readChoice());
    const onStorage = (e: StorageEvent) => {
      if (e.key === THEME_STORAGE_KEY || e.key === null) setChoice(readChoice());
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  useEffect(() => {
    if (choice === null) return;
    const media = window.matchMedia(LIGHT_QUERY);
    const apply = () => document.documentElement.setAttribute("data-theme", resolveTheme(choice, media.matches));
    apply();
    if (choice !== "system") return;
    media.addEventListener("change", apply);
    return () => media.removeEventListener("change", apply);
  }, [choice]);

  function choose(next: ThemeChoice) {
    setChoice(next);
    try {
      if (next === "system") localStorage.removeItem(THEME_STORAGE_KEY);
      else localStorage.setItem(THEME_STORAGE_KEY, next);
    } catch {
      // Storage refused: the choice lasts for this page only.
    }
  }

  return (
    <div role="group" aria-label="Colour theme" data-testid="theme-toggle" className="inline-flex rounded-full border border-slate-700 bg-slate-900 p-0.5">
      {THEME_CHOICES.map((c) => (
        <button
          key={c}
          type="button"
          aria-label={`${LOOK[c].label} theme`}
          title={`${LOOK[c].label} theme`}
          aria-pressed={choice === c}
          onClick={() => choose(c)}
          className={cx(
            "inline-flex h-7 w-7 items-center justify-center rounded-full transition-colors focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500",
            choice === c ? "bg-slate-700 text-slate-50" : "text-slate-400 hover:text-slate-100",
          )}
        >
          <svg aria-hidden viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round">
            {LOOK[c].icon}
          </svg>
        </button>
      ))}
    </div>
  );
}
