import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The test suite builds into its own folder so it never replaces the build
  // a running demo serves (scripts/test.sh sets FLOWGATE_DIST_DIR).
  distDir: process.env.FLOWGATE_DIST_DIR || ".next",
  // The Lua scripts need no output tracing: scripts/generate-lua.mjs (the
  // prebuild step) turns them into lib/valkey/lua-sources.generated.ts, which
  // is bundled like any module, so the server reads no .lua file at run time.
  poweredByHeader: false,
  // Headers every response carries; the page's Content-Security-Policy (with
  // a per-request nonce) is set in proxy.ts.
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
        ],
      },
    ];
  },
  reactStrictMode: true,
};

export default nextConfig;
