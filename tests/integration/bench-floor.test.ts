import { afterEach, describe, expect, it } from "vitest";
import { generateRequest, jsonRequest, loadApp, type LoadedApp } from "../support/app";

/**
 * The benchmark's floor route: one GET of a prompt's cache entry. It must not
 * exist in a normal deployment, and with BENCH_ROUTES=1 it must answer what
 * /api/generate cached, so the bench compares like with like.
 */

let app: LoadedApp | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  delete process.env.BENCH_ROUTES;
});

describe("/api/bench/floor", () => {
  it("is a 404 unless BENCH_ROUTES is set", async () => {
    app = await loadApp({ BENCH_ROUTES: "" });
    const floor = await import("@/app/api/bench/floor/route");
    const res = await floor.POST(jsonRequest("/api/bench/floor", { prompt: "anything" }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: "not_found" });
    expect((await floor.GET()).status).toBe(404);
  });

  it("with BENCH_ROUTES=1 answers the cached entry with one GET", async () => {
    app = await loadApp({ BENCH_ROUTES: "1" });
    const floor = await import("@/app/api/bench/floor/route");
    const prompt = "what does the floor cost?";
    const before = await floor.POST(jsonRequest("/api/bench/floor", { prompt }));
    expect(before.status).toBe(200);
    expect(await before.json()).toBeNull();

    const miss = await app.generate.POST(generateRequest(prompt));
    const generated = (await miss.json()) as { response: string };
    const after = await floor.POST(jsonRequest("/api/bench/floor", { prompt }));
    expect(((await after.json()) as { response: string }).response).toBe(generated.response);
  });
});
