import type { IncomingMessage, ServerResponse } from "node:http";

/** Types for lib/lean-path.mjs (plain JavaScript: server.mjs loads it before anything is compiled). */

export declare const LEAN_PATH_HEADER: "x-flowgate-path";

export declare const LEAN_ROUTES: readonly { method: string; path: string; page: string }[];

export interface LeanRoute {
  method: string;
  path: string;
  handler: (request: Request) => Response | Promise<Response>;
  /** [name, value] pairs Next.js's config sets on this path. */
  headers: [string, string][];
}

/** Bodies at most this long (by Content-Length) are read whole before the Request is built. */
export declare const BUFFERED_BODY_BYTES: number;
/** The body as one Buffer when it is short and declares its length; else undefined. */
export declare function readShortBody(req: IncomingMessage): Promise<Buffer> | undefined;
/** IncomingMessage → Web Request; its signal aborts when the client leaves before the response ends. */
export declare function toWebRequest(req: IncomingMessage, res: ServerResponse, body?: Buffer): Request;

/** Web Response → ServerResponse, chunk by chunk with backpressure; the body is cancelled if the client leaves. */
export declare function sendWebResponse(res: ServerResponse, response: Response): Promise<void>;

export type LeanListener = (req: IncomingMessage, res: ServerResponse) => boolean;

export declare function createLeanPath(options: {
  routes: LeanRoute[];
  compress?: ((req: IncomingMessage, res: ServerResponse, next: () => void) => void) | null;
  onError: (error: unknown, res: ServerResponse) => void;
}): LeanListener;

export declare function loadLeanPath(options: {
  dir: string;
  distDir: string;
  onError: (error: unknown, res: ServerResponse) => void;
}): { serve: LeanListener | null; reason?: string; routes?: string[]; skipped?: string[] };
