// Views with `cache_s`: each isolate keeps the rows it read (or found missing) for that long, so
// hot entities cost no store round trip; views without it read the store on every request. Counted
// at the real redis-server behind the Upstash bridge.
import { Redis } from "ioredis";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlineKey, type FeatureSpec } from "@verge/shared";
import { upstashStore } from "@verge/shared/online-store/upstash";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { rowCache } from "../src/features/row-cache.ts";
import { startRedis } from "../../scripts/lib/redis-server.ts";
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { CLIENT_KEY, testStack, type TestStack } from "../../test/helpers.ts";

describe("rowCache", () => {
  it("serves a row until its time is up, and evicts the least recently read past its size", () => {
    const c = rowCache(2, () => 1); // kept for the whole ttl
    const row = (n: number) => ({ ts: n, values: { x: n } });
    c.set("a", row(1), 1000, 0);
    c.set("b", undefined, 1000, 0); // a missing row is kept as missing
    expect(c.get("a", 999)).toEqual({ hit: true, row: row(1) });
    expect(c.get("b", 10)).toEqual({ hit: true, row: undefined });
    expect(c.get("a", 1000)).toEqual({ hit: false }); // expired, and dropped
    expect(c.size).toBe(1);
    c.set("a", row(2), 1000, 0);
    c.get("b", 1); // b read after a: a is the least recent
    c.set("c", row(3), 1000, 0);
    expect(c.size).toBe(2);
    expect(c.get("a", 1)).toEqual({ hit: false });
    expect(c.get("b", 1).hit).toBe(true);
  });

  it("spreads expiry over the last fifth of the ttl", () => {
    const c = rowCache(10, () => 0); // the shortest draw
    c.set("a", undefined, 1000, 0);
    expect(c.get("a", 799).hit).toBe(true);
    expect(c.get("a", 800).hit).toBe(false);
  });

  it("never holds more than its size, whatever the sequence", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.constantFrom("get", "set"), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 50 }))), (size, ops) => {
        const c = rowCache(size);
        const live = new Map<string, number>();
        for (const [op, k, now] of ops) {
          if (op === "set") {
            c.set(`k${k}`, { ts: now, values: {} }, 10, now);
            live.set(`k${k}`, now + 10);
          } else {
            const got = c.get(`k${k}`, now);
            // A hit is never past its time.
            if (got.hit) expect(live.get(`k${k}`)!).toBeGreaterThan(now);
          }
          expect(c.size).toBeLessThanOrEqual(size);
        }
      }),
    );
  });
});

const spec = (cache_s?: number): FeatureSpec => ({
  input: "input",
  views: [{ name: "user", entity: "user_id", max_age_s: 3600, ...(cache_s ? { cache_s } : {}) }],
  features: [{ name: "score", type: "number", default: 0, view: "user" }],
});
const W = [2];
const expected = (score: number) => 1 / (1 + Math.exp(-(score * W[0]! - 0.5)));

describe("a cached view through the gateway (Upstash bridge → redis-server)", () => {
  let stack: TestStack;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
  let counter: Redis;
  const store = () => upstashStore({ url: bridge.url, token: "t0ken" });
  const mgets = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(await counter.info("commandstats"))?.[1] ?? 0);
  const put = (entity: string, score: number) => store().putMany([{ key: onlineKey("user", entity), row: { ts: Date.now(), values: { score } } }]);
  const score = async (model: string, entity: string) => {
    const res = await stack.predict(model, { unit: "u", entities: { user_id: entity } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { outputs: { probability: number }; degraded?: { feature: string; reason: string }[] };
    return { p: body.outputs.probability, degraded: body.degraded ?? [] };
  };

  beforeAll(async () => {
    redis = await startRedis();
    bridge = await startUpstashBridge({ redisUrl: redis.url, token: "t0ken" });
    counter = new Redis(redis.url);
    stack = await testStack({ gatewayBindings: { ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: "t0ken", FEATURE_DEADLINE_MS: "2000" } });
    await stack.admin.ok("POST", "/v1/keys", { name: "t", models: ["*"], key: CLIENT_KEY });
    for (const [name, cache] of [["cached", 2], ["uncached", undefined]] as const) {
      await stack.admin.ok("POST", "/v1/models", { name, task: "binary_classification" });
      const v = await stack.admin.uploadVersion(name, logisticRegressionModel(W, -0.5), { runtime: "edge", inputs: [{ name: "input", shape: [-1, 1] }], outputs: [{ name: "probability", shape: [-1, 1] }], feature_spec: spec(cache) });
      await stack.admin.ok("PUT", `/v1/models/${name}/deployment`, { variants: [{ name: "main", version: v.version, weight: 10000 }] });
    }
  });
  afterAll(async () => {
    await stack?.dispose();
    counter?.disconnect();
    await bridge?.close();
    await redis?.stop();
  });

  it("reads the store once per entity within cache_s, and sees a change once it has passed", async () => {
    await put("alice", 1);
    const before = await mgets();
    for (let i = 0; i < 5; i++) expect((await score("cached", "alice")).p).toBeCloseTo(expected(1), 5);
    expect(await mgets()).toBe(before + 1);

    await put("alice", 3);
    expect((await score("cached", "alice")).p).toBeCloseTo(expected(1), 5); // still the kept row
    await new Promise((r) => setTimeout(r, 2100));
    expect((await score("cached", "alice")).p).toBeCloseTo(expected(3), 5);
    expect(await mgets()).toBe(before + 2);
  });

  it("keeps a missing row as missing, and reads again once cache_s has passed", async () => {
    const before = await mgets();
    for (let i = 0; i < 3; i++) expect((await score("cached", "nobody")).degraded).toContainEqual({ feature: "score", reason: "missing" });
    expect(await mgets()).toBe(before + 1);
    await put("nobody", 2);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await score("cached", "nobody")).p).toBeCloseTo(expected(2), 5);
  });

  it("reads the store on every request for a view without cache_s", async () => {
    await put("bob", 1);
    const before = await mgets();
    for (let i = 0; i < 4; i++) await score("uncached", "bob");
    expect(await mgets()).toBe(before + 4);
  });

  it("does not keep a failed read: once the store is back, the next request reads it", async () => {
    await put("carol", 2);
    const port = bridge.port;
    await bridge.close();
    expect((await score("cached", "carol")).degraded).toContainEqual({ feature: "score", reason: "store_unavailable" });
    bridge = await startUpstashBridge({ redisUrl: redis.url, token: "t0ken", port });
    expect((await score("cached", "carol")).p).toBeCloseTo(expected(2), 5);
  });
});
