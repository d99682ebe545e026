import type { Config } from "tailwindcss";

// Tailwind 4 is configured CSS-first (app/globals.css); this file is loaded
// from there with @config so editors and tooling find the content globs.
const config: Config = {
  content: ["./app/**/*.{ts,tsx}", "./components/**/*.{ts,tsx}", "./lib/**/*.{ts,tsx}"],
  theme: { extend: {} },
};

export default config;
