import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_MAX_PENDING } from "@/lib/lab";
import { errorBodySchema, labResultSchema } from "@/lib/schemas";
import { keysUnder, loadApp, type LoadedApp } from "../support/app";

/**
 * The dashboard runs the algorithm lab on every load: visitors who arrive
 * together must each get a result, not a 429. A fresh app, so the default
 * run is not already cached and the visitors really meet mid-run.
 */

let app: LoadedApp;

beforeAll(async () => {
  app = await loadApp();
});
afterAll(() => app.close());

const lab = (query = "") => app.lab.GET(new Request(`http://localhost/api/lab${query}`));

describe("the algorithm lab with several visitors at once", () => {
  it("gives each of them the default run's result, from one run, and a custom run beside it", async () => {
    const custom = app.lab.POST(new Request("http://localhost/api/lab", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ limit: 4, windowMs: 2000 }),
    }));
    const visitors = await Promise.all(Array.from({ length: 6 }, () => lab()));
    expect(visitors.map((r) => r.status)).toEqual(Array(6).fill(200));
    const bodies = await Promise.all(visitors.map((r) => r.text()));
    // One run shared (its wall time included), not six.
    expect(new Set(bodies).size).toBe(1);
    expect(labResultSchema.parse(JSON.parse(bodies[0]!))).toMatchObject({ limit: 10, windowMs: 60_000 });
    const own = await custom;
    expect(own.status).toBe(200);
    expect(labResultSchema.parse(await own.json())).toMatchObject({ limit: 4, windowMs: 2000 });
    // A visitor a moment later gets the same result, without another run.
    expect(await (await lab()).text()).toBe(bodies[0]);
    expect(await keysUnder(app.inspect, `${app.prefix}lab:`)).toEqual([]);
  });

  it("still runs other parameters, and refuses bad ones", async () => {
    const results = await Promise.all([lab("?limit=5&windowMs=1000"), lab("?limit=20"), lab("?limit=5&windowMs=1000")]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const [a, b, c] = await Promise.all(results.map(async (r) => labResultSchema.parse(await r.json())));
    expect(a).toMatchObject({ limit: 5, windowMs: 1000 });
    expect(b).toMatchObject({ limit: 20, windowMs: 60_000 });
    expect(c).toEqual(a);
    expect((await lab("?limit=100000")).status).toBe(400);
  });

  it(`queues at most ${LAB_MAX_PENDING} distinct runs at once, and refuses more with a 429`, async () => {
    const distinct = Array.from({ length: LAB_MAX_PENDING + 2 }, (_, i) => lab(`?limit=${30 + i}&windowMs=1000`));
    const responses = await Promise.all(distinct);
    expect(responses.map((r) => r.status)).toEqual([...Array(LAB_MAX_PENDING).fill(200), 429, 429]);
    const refused = errorBodySchema.parse(await responses.at(-1)!.json());
    expect(refused.code).toBe("rate_limited");
    expect(responses.at(-1)!.headers.get("retry-after")).toBe("1");
  });
});
