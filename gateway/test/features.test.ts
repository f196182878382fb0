// Online features through the real gateway, with each store driver against its real backend:
// Upstash through the bridge to redis-server, and Workers KV. Then the store goes down.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows, onlineKey, type FeatureSpec, type OnlineStore, type RawRow } from "@verge/shared";
import { kvStore, type KvNamespaceLike } from "@verge/shared/online-store/kv";
import { upstashStore } from "@verge/shared/online-store/upstash";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { startRedis } from "../../scripts/lib/redis-server.ts";
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { CLIENT_KEY, testStack, type TestStack } from "../../test/helpers.ts";

const spec: FeatureSpec = {
  input: "input",
  views: [{ name: "user_stats", entity: "user_id", max_age_s: 3600 }],
  features: [
    { name: "clicks_7d", type: "number", default: 0, view: "user_stats" },
    { name: "country", type: "categorical", vocabulary: ["ch", "de", "fr"], default: "ch", view: "user_stats" },
    { name: "is_member", type: "boolean", default: false },
  ],
};
const W = [0.3, 0.5, -0.4, 0.2, 1.1];
const expected = (row: RawRow) => 1 / (1 + Math.exp(-Array.from(encodeRows(spec, [row])).reduce((s, x, i) => s + x * W[i]!, -0.2)));

type Body = { outputs: { probability: number } | { probability: number }[]; degraded?: { feature: string; reason: string }[] };

async function setup(stack: TestStack) {
  await stack.admin.ok("POST", "/v1/models", { name: "ctr", task: "binary_classification" });
  const v = await stack.admin.uploadVersion("ctr", logisticRegressionModel(W, -0.2), {
    runtime: "edge",
    inputs: [{ name: "input", shape: [-1, 5] }],
    outputs: [{ name: "probability", shape: [-1, 1] }],
    feature_spec: spec,
  });
  await stack.admin.ok("PUT", "/v1/models/ctr/deployment", { variants: [{ name: "main", version: v.version, weight: 10000 }] });
  await stack.admin.ok("POST", "/v1/keys", { name: "t", models: ["*"], key: CLIENT_KEY });
}

async function seedRows(store: OnlineStore) {
  const now = Date.now();
  await store.putMany([
    { key: onlineKey("user_stats", "alice"), row: { ts: now, values: { clicks_7d: 12, country: "de" } } },
    { key: onlineKey("user_stats", "bob"), row: { ts: now - 2 * 3600_000, values: { clicks_7d: 40, country: "fr" } } },
    { key: onlineKey("user_stats", "carol"), row: { ts: now, values: { clicks_7d: "many", country: "fr" } } },
  ]);
}

const redisBackend = { redis: undefined as Awaited<ReturnType<typeof startRedis>> | undefined, bridge: undefined as Awaited<ReturnType<typeof startUpstashBridge>> | undefined };

const drivers = {
  upstash: async () => {
    redisBackend.redis = await startRedis();
    redisBackend.bridge = await startUpstashBridge({ redisUrl: redisBackend.redis.url, token: "t0ken" });
    // A loaded test machine can take longer than the production deadline (50 ms) to reach the
    // store; these tests are about the values read, the deadline has its own test below.
    const stack = await testStack({ gatewayBindings: { ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: redisBackend.bridge.url, UPSTASH_REDIS_REST_TOKEN: "t0ken", FEATURE_DEADLINE_MS: "2000" } });
    return { stack, store: upstashStore({ url: redisBackend.bridge.url, token: "t0ken" }), stop: async () => { await redisBackend.bridge!.close(); await redisBackend.redis!.stop(); } };
  },
  kv: async () => {
    const stack = await testStack({ gatewayBindings: { FEATURE_DEADLINE_MS: "2000" } });
    const kv = (await stack.mf.getKVNamespace("FEATURES", "verge-gateway")) as unknown as KvNamespaceLike;
    return { stack, store: kvStore(kv), stop: async () => undefined };
  },
};

describe.each(["upstash", "kv"] as const)("online features from %s", (driver) => {
  let ctx: Awaited<ReturnType<(typeof drivers)["kv"]>>;
  beforeAll(async () => {
    ctx = await drivers[driver]();
    await setup(ctx.stack);
    await seedRows(ctx.store);
  });
  afterAll(async () => {
    await ctx?.stack.dispose();
    await ctx?.stop();
  });

  it("reads the entity's row and computes with it", async () => {
    const res = await ctx.stack.predict("ctr", { unit: "a", entities: { user_id: "alice" }, features: { is_member: true } });
    const body = (await res.json()) as Body;
    expect((body.outputs as { probability: number }).probability).toBeCloseTo(expected({ clicks_7d: 12, country: "de", is_member: true }), 5);
    expect(body.degraded).toBeUndefined();
  });

  it("defaults stale, missing, invalid and unnamed rows, saying why", async () => {
    const res = await ctx.stack.predict("ctr", {
      unit: "a",
      instances: [{ entities: { user_id: "bob" } }, { entities: { user_id: "nobody" } }, { entities: { user_id: "carol" } }, {}, { entities: { user_id: "alice" }, features: { clicks_7d: 3 } }],
    });
    const body = (await res.json()) as Body;
    const out = body.outputs as { probability: number }[];
    expect(out[0]!.probability).toBeCloseTo(expected({}), 5); // stale: defaults
    expect(out[1]!.probability).toBeCloseTo(expected({}), 5);
    expect(out[2]!.probability).toBeCloseTo(expected({ country: "fr" }), 5); // clicks invalid, country fine
    expect(out[4]!.probability).toBeCloseTo(expected({ clicks_7d: 3, country: "de" }), 5); // the request's value wins
    const reasons = new Set(body.degraded!.map((d) => `${d.feature}:${d.reason}`));
    for (const r of ["clicks_7d:stale", "clicks_7d:missing", "clicks_7d:invalid", "country:stale", "is_member:missing"]) expect(reasons).toContain(r);
  });

  if (driver === "upstash") {
    it("keeps answering with defaults, within the deadline, when the store is down", async () => {
      await ctx.stop();
      const t0 = performance.now();
      const res = await ctx.stack.predict("ctr", { unit: "a", entities: { user_id: "alice" } });
      const elapsed = performance.now() - t0;
      expect(res.status).toBe(200);
      const body = (await res.json()) as Body;
      expect((body.outputs as { probability: number }).probability).toBeCloseTo(expected({}), 5);
      expect(body.degraded).toContainEqual({ feature: "clicks_7d", reason: "store_unavailable" });
      expect(elapsed).toBeLessThan(2000);
    });
  }
});

describe("a store that hangs", () => {
  let stack: TestStack;
  let hung: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never answers: only the gateway's deadline ends the wait.
    hung = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    const port = (hung.address() as { port: number }).port;
    stack = await testStack({ gatewayBindings: { ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`, UPSTASH_REDIS_REST_TOKEN: "t" } });
    await setup(stack);
  });
  afterAll(async () => {
    await stack?.dispose();
    for (const s of sockets) s.destroy();
    hung?.close();
  });

  it("answers every request with defaults once the feature deadline passes", async () => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const res = await stack.predict("ctr", { unit: `u${i}`, entities: { user_id: "alice" } });
      times.push(performance.now() - t0);
      const body = (await res.json()) as Body;
      expect(res.status).toBe(200);
      expect(body.degraded).toContainEqual({ feature: "clicks_7d", reason: "deadline" });
      expect((body.outputs as { probability: number }).probability).toBeCloseTo(expected({}), 5);
    }
    // The deadline is 50 ms: even the slowest request is nowhere near a hung store's forever
    // (the bound leaves room for a loaded machine; the deadline itself is what `degraded` proves).
    expect(Math.max(...times)).toBeLessThan(10_000);
  });
});
