import { z } from "zod";

/**
 * zod compiles object parsers with `new Function` when it may, and probes for
 * that on the first parse. The page's CSP refuses eval, so in the browser the
 * probe would be a CSP violation (and a console error): parse without the JIT
 * there. Imported first by lib/schemas.ts, so every client module that parses
 * one of ours has it, and by what parses with zod without our schemas (the
 * /docs page's Scalar). Never on the server: zod's config is global to the
 * process, and the route handlers keep the faster parsers.
 */
if (typeof window !== "undefined") z.config({ jitless: true });
