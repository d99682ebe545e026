/**
 * `/?present` opens presenter mode. Apart from lib/dashboard/presenter.ts so
 * the dashboard's first load, which must check the URL, carries none of the
 * story.
 */

/** Removes `present` from a URL's query, keeping the rest (for history.replaceState on exit). */
export function withoutPresentParam(href: string): string {
  const url = new URL(href);
  url.searchParams.delete("present");
  return `${url.pathname}${url.search}${url.hash}`;
}

/** True when the URL asks for presenter mode: `/?present`, `/?present=1`; not `?present=0` or `false`. */
export function wantsPresent(search: string): boolean {
  const params = new URLSearchParams(search);
  if (!params.has("present")) return false;
  const v = (params.get("present") ?? "").toLowerCase();
  return v !== "0" && v !== "false" && v !== "no";
}
