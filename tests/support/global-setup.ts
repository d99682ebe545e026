import type { TestProject } from "vitest/node";
import { startValkey } from "./valkey-server";

declare module "vitest" {
  export interface ProvidedContext {
    valkeyUrl: string;
  }
}

/** One real server for the integration suite, torn down at the end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const valkey = await startValkey();
  project.provide("valkeyUrl", valkey.url);
  return () => valkey.stop();
}
