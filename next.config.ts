import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // The Lua scripts are read from disk at run time by lib/valkey/scripts.ts;
  // the bundler does not see them, so list them for output tracing.
  outputFileTracingIncludes: {
    "/api/**/*": ["./lib/valkey/scripts/*.lua"],
  },
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
