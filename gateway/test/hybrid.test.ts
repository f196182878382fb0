// Hybrid batch and real time: precomputed predictions from the online store when present and
// fresh, real-time inference otherwise, and the response says which.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { predictionKey } from "@verge/shared";
import { kvStore, type KvNamespaceLike } from "@verge/shared/online-store/kv";
import { demoArtifacts, demoExpected, demoMetadata } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
let version: number;
beforeAll(async () => {
  stack = await testStack();
  await stack.admin.ok("POST", "/v1/models", { name: "hybrid", task: "binary_classification" });
  version = (await stack.admin.uploadVersion("hybrid", demoArtifacts().lr, { ...demoMetadata("lr"), precomputed: { entity: "user_id", max_age_s: 600 } })).version;
  await stack.admin.ok("PUT", "/v1/models/hybrid/deployment", { variants: [{ name: "main", version, weight: 10000 }] });
  await stack.admin.ok("POST", "/v1/keys", { name: "h", models: ["hybrid"], key: CLIENT_KEY });
  const store = kvStore((await stack.mf.getKVNamespace("FEATURES", "verge-gateway")) as unknown as KvNamespaceLike);
  await store.putMany([
    { key: predictionKey("hybrid", version, "fresh"), row: { ts: Date.now(), values: { probability: 0.123 } } },
    { key: predictionKey("hybrid", version, "old"), row: { ts: Date.now() - 3_600_000, values: { probability: 0.999 } } },
  ]);
});
afterAll(() => stack?.dispose());

type Body = { source: string; outputs: { probability: number } | { probability: number }[] };
const ask = async (body: unknown) => (await (await stack.predict("hybrid", body)).json()) as Body;

describe("hybrid serving", () => {
  it("serves a fresh precomputed prediction", async () => {
    expect(await ask({ unit: "a", entities: { user_id: "fresh" } })).toMatchObject({ source: "precomputed", outputs: { probability: 0.123 } });
  });

  it("computes in real time when the prediction is stale, missing, or the entity is not named", async () => {
    for (const body of [{ entities: { user_id: "old" } }, { entities: { user_id: "nobody" } }, {}]) {
      const res = await ask({ unit: "a", ...body, features: { tenure_months: 5 } });
      expect(res.source).toBe("realtime");
      expect((res.outputs as { probability: number }).probability).toBeCloseTo(demoExpected("lr", { tenure_months: 5 }), 5);
    }
  });

  it("never mixes sources in one response", async () => {
    const res = await ask({ unit: "a", instances: [{ entities: { user_id: "fresh" } }, { entities: { user_id: "nobody" } }] });
    expect(res.source).toBe("realtime");
    expect((res.outputs as { probability: number }[])[0]!.probability).toBeCloseTo(demoExpected("lr", {}), 5);
  });
});
