// Client keys: imported secrets must be long and varied, and the snapshot gateways fetch carries
// only salted hashes of keys (never a key's bare sha256); the gateway admits keys by the salted
// hash. Real workerd, D1 and the gateway.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex, snapshotSchema } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { GATEWAY_TOKEN, tableCounts, testStack, type TestStack } from "./helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
});
afterAll(() => stack?.dispose());

const snapshot = async () => {
  const res = await stack.controlPlane("/v1/snapshot", { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, parsed: snapshotSchema.parse(JSON.parse(text)) };
};

describe("client keys", () => {
  it("refuses short or repetitive imported keys with a 400 naming the field, storing nothing", async () => {
    const before = await tableCounts(stack);
    for (const key of ["k".repeat(8) + "0123456789abcdef", "ab".repeat(20), "x".repeat(31)]) {
      const res = await stack.admin.raw("POST", "/v1/keys", { name: "weak", models: ["*"], key });
      expect(res.status, key).toBe(400);
      expect(JSON.stringify(res.body)).toContain("key");
    }
    expect(await tableCounts(stack)).toEqual(before);
  });

  it("publishes salted hashes only, and the gateway admits the key by them", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "keyed", task: "binary_classification" });
    const v = await stack.admin.uploadVersion("keyed", logisticRegressionModel([0.1], 0), {
      runtime: "edge",
      inputs: [{ name: "input", shape: [-1, 1] }],
      outputs: [{ name: "probability", shape: [-1, 1] }],
      feature_spec: { features: [{ name: "x", type: "number", default: 0 }] },
    });
    await stack.admin.ok("PUT", "/v1/models/keyed/deployment", { variants: [{ name: "main", weight: 10000, version: v.version }] });
    const imported = "vk_imported_Q7r2Lm9Xp4Tz8Wc1Nb6Vd3Hs5";
    const keys = [imported, (await stack.admin.ok("POST", "/v1/keys", { name: "generated", models: ["keyed"] })).key];
    await stack.admin.ok("POST", "/v1/keys", { name: "imported", models: ["keyed"], key: imported });

    const { text, parsed } = await snapshot();
    expect(parsed.key_salt).toMatch(/^[0-9a-f]{32}$/);
    for (const key of keys) {
      const bare = await sha256Hex(key);
      expect(text).not.toContain(bare);
      expect(text).not.toContain(key);
    }
    // The salt stays across snapshot versions (a gateway's cached hashes stay valid).
    await stack.admin.ok("POST", "/v1/keys", { name: "another", models: ["keyed"] });
    const again = (await snapshot()).parsed;
    expect(again.version).toBeGreaterThan(parsed.version);
    expect(again.key_salt).toBe(parsed.key_salt);

    for (const key of keys) {
      const res = await stack.gateway("/v1/models/keyed/predict", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ unit: "u", features: { x: 1 } }) });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    const wrong = await stack.gateway("/v1/models/keyed/predict", { method: "POST", headers: { authorization: `Bearer ${imported}x`, "content-type": "application/json" }, body: JSON.stringify({ unit: "u", features: { x: 1 } }) });
    expect(wrong.status).toBe(401);
  });
});
