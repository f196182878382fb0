// No training–serving skew: one raw row gives the identical tensor in the trainer and in the
// gateway, whose view features are written by the trainer and read back by the gateway through
// each real online-store driver: Workers KV in miniflare, and Upstash through the project's bridge
// to a real redis-server. The store's serialization round trip is where skew would creep in.
import fc from "fast-check";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows, onlineKey, resolveRow, type FeatureSpec, type OnlineStore } from "@verge/shared";
import { kvStore, type KvNamespaceLike } from "@verge/shared/online-store/kv";
import { upstashStore } from "@verge/shared/online-store/upstash";
import { lookupFeatures } from "../../gateway/src/features/lookup.ts";
import { startRedis } from "../../scripts/lib/redis-server.ts";
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { trainingMatrix } from "../src/dataset/rows.ts";

const spec: FeatureSpec = {
  input: "input",
  views: [{ name: "user", entity: "user_id", max_age_s: 3600 }],
  features: [
    { name: "age", type: "number", default: 30 },
    { name: "clicks", type: "number", default: 0, view: "user" },
    { name: "country", type: "categorical", vocabulary: ["ch", "de", "fr"], default: "ch", view: "user" },
    { name: "verified", type: "boolean", default: false, view: "user" },
    { name: "member", type: "boolean", default: false },
  ],
};

const TOKEN = "skew-test-token";
let redis: Awaited<ReturnType<typeof startRedis>>;
let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
let mf: Miniflare;
const drivers: Record<string, OnlineStore> = {};

beforeAll(async () => {
  redis = await startRedis();
  bridge = await startUpstashBridge({ redisUrl: redis.url, token: TOKEN });
  mf = new Miniflare({ cf: false, workers: [{ name: "kv", modules: true, script: "export default { fetch() { return new Response() } }", kvNamespaces: ["FEATURES"], compatibilityDate: "2026-08-01" }] });
  drivers.kv = kvStore((await mf.getKVNamespace("FEATURES")) as unknown as KvNamespaceLike);
  drivers.upstash = upstashStore({ url: bridge.url, token: TOKEN });
});
afterAll(async () => {
  await bridge?.close();
  await redis?.stop();
  await mf?.dispose();
});

/** Exact, except that −0 and 0 are one value: JSON stores −0 as 0, and no model output tells them apart. */
const exact = (t: ArrayLike<number>) => Array.from(t, (v) => (v === 0 ? 0 : v));

describe.each(["kv", "upstash"])("training and serving build the same tensor, online values through %s", (driver) => {
  it("for any raw row, whichever side the values come from", async () => {
    const store = drivers[driver]!;
    let entity = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({ age: fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { nil: undefined }), member: fc.option(fc.boolean(), { nil: undefined }) }),
        fc.record({
          // (Beyond float32 a number is refused on both sides alike.)
          clicks: fc.oneof(fc.double({ min: -3.4e38, max: 3.4e38, noNaN: true }), fc.double({ min: 0, max: 1e4, noNaN: true }), fc.integer()),
          country: fc.constantFrom("ch", "de", "fr", "it", "日本", ""),
          verified: fc.boolean(),
        }),
        async (requestPart, onlinePart) => {
          const raw = { ...requestPart, ...onlinePart };
          const training = trainingMatrix(spec, [raw]).x;
          // Written as materialization writes it, read as the gateway reads it.
          const user = `u${++entity}`;
          await store.putMany([{ key: onlineKey("user", user), row: { ts: Date.now(), values: onlinePart } }]);
          const served = await lookupFeatures(store, spec, [{ features: requestPart, entities: { user_id: user } }], undefined, 5000);
          expect(served.reasons[0]!.size, JSON.stringify([...served.reasons[0]!])).toBe(0);
          const tensor = encodeRows(spec, [resolveRow(spec, served.raw[0]!, "features", served.reasons[0]).values]);
          expect(exact(tensor)).toEqual(exact(training));
        },
      ),
      { numRuns: 150 },
    );
  });
});
