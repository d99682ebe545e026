import { describe, expect, it } from "vitest";
import { LIGHT_QUERY, THEME_INIT_SCRIPT, THEME_STORAGE_KEY, parseThemeChoice, resolveTheme, type ThemeChoice } from "@/lib/theme";

/** Runs the inline <head> script against a fake page: what it leaves on <html>. */
function runInitScript({ stored, prefersLight, storageThrows = false }: { stored: string | null; prefersLight: boolean; storageThrows?: boolean }) {
  const attributes = new Map<string, string>();
  const localStorage = {
    getItem(key: string) {
      if (storageThrows) throw new Error("SecurityError");
      return key === THEME_STORAGE_KEY ? stored : null;
    },
  };
  const window = { matchMedia: (query: string) => ({ matches: query === LIGHT_QUERY && prefersLight }) };
  const document = { documentElement: { setAttribute: (name: string, value: string) => attributes.set(name, value) } };
  new Function("window", "document", "localStorage", THEME_INIT_SCRIPT)(window, document, localStorage);
  return attributes.get("data-theme");
}

describe("theme", () => {
  it("reads anything but light or dark as following the OS", () => {
    expect(parseThemeChoice("light")).toBe("light");
    expect(parseThemeChoice("dark")).toBe("dark");
    expect(parseThemeChoice(null)).toBe("system");
    expect(parseThemeChoice("Light")).toBe("system");
  });

  it("resolves a choice against the OS preference", () => {
    expect(resolveTheme("system", true)).toBe("light");
    expect(resolveTheme("system", false)).toBe("dark");
    expect(resolveTheme("dark", true)).toBe("dark");
    expect(resolveTheme("light", false)).toBe("light");
  });

  it("the inline script agrees with parseThemeChoice and resolveTheme for every stored value and OS", () => {
    for (const stored of ["light", "dark", null, "bogus"]) {
      for (const prefersLight of [true, false]) {
        const choice: ThemeChoice = parseThemeChoice(stored);
        expect(runInitScript({ stored, prefersLight })).toBe(resolveTheme(choice, prefersLight));
      }
    }
  });

  it("the inline script falls back to the OS when storage throws", () => {
    expect(runInitScript({ stored: "dark", prefersLight: true, storageThrows: true })).toBe("light");
  });
});
