/**
 * The colour theme: the viewer's choice (stored in localStorage) or, without
 * one, the OS's `prefers-color-scheme`. The resolved theme is the
 * `data-theme` attribute on <html>, which app/globals.css keys the palette on.
 * No server-only or client-only imports: the layout inlines THEME_INIT_SCRIPT
 * and the toggle uses the rest.
 */

export type Theme = "light" | "dark";
/** What the viewer picked; "system" follows the OS. */
export type ThemeChoice = Theme | "system";

export const THEME_STORAGE_KEY = "flowgate-theme";
export const THEME_CHOICES: readonly ThemeChoice[] = ["system", "light", "dark"];
export const LIGHT_QUERY = "(prefers-color-scheme: light)";

/** A stored value as a choice: anything but "light" or "dark" (absent, edited by hand) means "system". */
export function parseThemeChoice(stored: string | null | undefined): ThemeChoice {
  return stored === "light" || stored === "dark" ? stored : "system";
}

export function resolveTheme(choice: ThemeChoice, osPrefersLight: boolean): Theme {
  if (choice !== "system") return choice;
  return osPrefersLight ? "light" : "dark";
}

/**
 * Runs in <head> before <body> is parsed, so the first paint already has the
 * right palette (no dark flash on a light screen). It repeats
 * parseThemeChoice and resolveTheme in ES5; tests/unit/theme.test.ts runs it
 * against them. Storage can throw (disabled cookies, sandboxed frames): then
 * the OS decides.
 */
export const THEME_INIT_SCRIPT = `(function(){var c=null;try{c=localStorage.getItem(${JSON.stringify(THEME_STORAGE_KEY)})}catch(e){}var t=c==="light"||c==="dark"?c:window.matchMedia&&window.matchMedia(${JSON.stringify(LIGHT_QUERY)}).matches?"light":"dark";document.documentElement.setAttribute("data-theme",t)})()`;
