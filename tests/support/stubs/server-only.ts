// server-only is a build-time marker for Next.js; in tests every module runs on the server.
export {};
