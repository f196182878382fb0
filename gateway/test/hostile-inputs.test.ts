// Inputs that once reached a 500: request ids that are no header value, tensors nested deep enough
// to overflow a recursive parser, and names that are also properties of every JS object.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import type { FeatureSpec, VersionMetadata } from "@verge/shared";
import { CLIENT_KEY, errorOf, eventually, lakeRecords, testStack, waitForCount, type TestStack } from "../../test/helpers.ts";
import { oipErrorOf } from "../../test/oip-protocol.ts";

let stack: TestStack;

/** Features whose names every plain object already "has". */
const SPEC: FeatureSpec = {
  input: "input",
  features: [
    { name: "constructor", type: "number", default: 1 },
    { name: "toString", type: "number", default: 2 },
    { name: "hasOwnProperty", type: "categorical", vocabulary: ["a", "b"], default: "a" },
  ],
  views: [],
};
const WEIGHTS = [0.5, -0.25, 1, 2];
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const expected = (x: number[]) => sigmoid(x.reduce((s, v, i) => s + v * WEIGHTS[i]!, 0));

function metadata(): VersionMetadata {
  return {
    runtime: "edge",
    inputs: [{ name: "input", shape: [-1, 4], datatype: "FP32" }],
    outputs: [{ name: "probability", shape: [-1, 1], datatype: "FP32" }],
    feature_spec: SPEC,
    metrics: {},
    lineage: { code_version: "test", params: {} },
  };
}

beforeAll(async () => {
  stack = await testStack();
  // A model named like an inherited property, with features named like them too.
  for (const name of ["constructor", "plain"]) {
    await stack.admin.ok("POST", "/v1/models", { name, task: "binary_classification" });
    const v = await stack.admin.uploadVersion(name, logisticRegressionModel(WEIGHTS, 0), metadata());
    await stack.admin.ok("PUT", `/v1/models/${name}/deployment`, { variants: [{ name: "main", version: v.version, weight: 10_000 }] });
  }
  await stack.admin.ok("POST", "/v1/keys", { name: "all", models: ["*"], key: CLIENT_KEY });
});
afterAll(() => stack?.dispose());

const auth = { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" };
const oip = (model: string, body: unknown) => stack.gateway(`/v2/models/${model}/infer`, { method: "POST", headers: auth, body: typeof body === "string" ? body : JSON.stringify(body) });

describe("request ids", () => {
  it("refuses an OIP id that is no header value with a 400 naming id, and logs nothing", async () => {
    for (const id of ["a\nb", "a\u0000b", "é", " lead", "x".repeat(129)]) {
      const res = await oip("plain", { id, inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [1, 2, 0, 1] }] });
      expect(res.status, JSON.stringify(id)).toBe(400);
      expect((await oipErrorOf(res)).message).toMatch(/^body\.id: /);
    }
    const ok = await oip("plain", { id: "ok-1", inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [1, 2, 0, 1] }] });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe("ok-1");
    // Only the accepted request was logged (the count fails at once on more).
    await waitForCount(stack, "plain", 1);
  });
});

describe("tensor nesting", () => {
  it("refuses data nested deeper than a tensor's rank allows with a 400 naming data, however deep", async () => {
    for (const depth of [9, 1_000, 100_000]) {
      const data = "[".repeat(depth) + "1" + "]".repeat(depth);
      const res = await oip("plain", `{"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":${data}}]}`);
      expect(res.status, `depth ${depth}`).toBe(400);
      expect((await oipErrorOf(res)).message).toMatch(/^body\.inputs\[0\]\.data: nested deeper/);
    }
    // Nesting up to the rank's depth still works.
    const nested = await oip("plain", { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [[1, 2, 0, 1]] }] });
    expect(nested.status).toBe(200);
  });
});

describe("names that are object properties", () => {
  it("serves features named constructor, toString and hasOwnProperty: given values are used, absent ones defaulted", async () => {
    const res = await stack.predict("plain", { features: { constructor: 3, hasOwnProperty: "b" } });
    const body = (await res.json()) as { outputs: { probability: number }; degraded?: { feature: string; reason: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.outputs.probability).toBeCloseTo(expected([3, 2, 0, 1]), 5);
    expect(body.degraded).toEqual([{ feature: "toString", reason: "missing" }]);

    const none = await stack.predict("plain", {});
    const d = (await none.json()) as { outputs: { probability: number } };
    expect(none.status).toBe(200);
    expect(d.outputs.probability).toBeCloseTo(expected([1, 2, 1, 0]), 5);
  });

  it("serves the same features through OIP, one tensor per feature", async () => {
    const res = await oip("plain", {
      inputs: [
        { name: "constructor", shape: [1], datatype: "FP32", data: [3] },
        { name: "hasOwnProperty", shape: [1], datatype: "BYTES", data: ["b"] },
      ],
    });
    const body = (await res.json()) as { outputs: { data: number[] }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.outputs[0]!.data[0]).toBeCloseTo(expected([3, 2, 0, 1]), 5);
  });

  it("reports OIP feature tensors the version lacks, and values outside the vocabulary, in parameters.ignored", async () => {
    const res = await oip("plain", {
      inputs: [
        { name: "constructor", shape: [2], datatype: "FP32", data: [3, 4] },
        { name: "hasOwnProperty", shape: [2], datatype: "BYTES", data: ["zzz", "a"] },
        { name: "extra", shape: [2], datatype: "FP32", data: [1, 1] },
      ],
    });
    const body = (await res.json()) as { parameters: { ignored?: unknown } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.parameters.ignored).toEqual([
      { feature: "extra", reason: "unknown_feature" },
      { feature: "hasOwnProperty", reason: "out_of_vocabulary" },
    ]);
  });

  it("serves a model named constructor, its OIP metadata included", async () => {
    expect((await stack.predict("constructor", { features: { toString: 4 } })).status).toBe(200);
    const meta = await stack.gateway("/v2/models/constructor", { headers: auth });
    expect(meta.status).toBe(200);
    expect(await meta.json()).toMatchObject({ name: "constructor", versions: ["1"] });
    expect((await stack.gateway("/v2/models/constructor/ready", { headers: auth })).status).toBe(200);
  });

  it("answers 404 (not 500) for models named like inherited properties that do not exist", async () => {
    for (const name of ["tostring", "valueof", "hasownproperty"]) {
      expect((await stack.predict(name, {})).status).not.toBe(500);
      expect((await stack.gateway(`/v2/models/${name}`, { headers: auth })).status).not.toBe(500);
    }
  });

  it("refuses __proto__ as a feature name when a version is registered, naming the field", async () => {
    const bad = { ...metadata(), feature_spec: { ...SPEC, features: [...SPEC.features, { name: "__proto__", type: "number", default: 0 }] } };
    await expect(stack.admin.uploadVersion("plain", logisticRegressionModel([...WEIGHTS, 0], 0), bad)).rejects.toThrow(/features\[3\]\.name: must not be __proto__/);
    const err = await errorOf(await stack.predict("plain", { features: { constructor: "x" } }));
    expect(err.message).toMatch(/features\.constructor: expected number/);
  });
});

describe("input the model never saw", () => {
  it("reports unknown features and out-of-vocabulary values in the response, the log record and the metrics API's rollups", async () => {
    const send = () => stack.predict("constructor", { request_id: `ignored-${Math.random()}`, features: { constructor: 3, hasOwnProperty: "zzz", tenure: 4, plan: "pro" } });
    const res = await send();
    const body = (await res.json()) as { outputs: { probability: number }; ignored?: { feature: string; reason: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    // Served anyway: the unknown names are dropped, the value outside the vocabulary is all zeros.
    expect(body.outputs.probability).toBeCloseTo(expected([3, 2, 0, 0]), 5);
    expect(body.ignored).toEqual([
      { feature: "tenure", reason: "unknown_feature" },
      { feature: "plan", reason: "unknown_feature" },
      { feature: "hasOwnProperty", reason: "out_of_vocabulary" },
    ]);
    expect((await send()).status).toBe(200);
    // A clean request reports nothing.
    expect(((await (await stack.predict("constructor", { features: { hasOwnProperty: "b" } })).json()) as { ignored?: unknown }).ignored).toBeUndefined();

    // Through the queue and the consumer into the rollups, read back by the metrics API.
    const issues = await eventually(async () => {
      const m = (await stack.admin.api.metrics({ params: { model: "constructor" }, query: { from: Date.now() - 3_600_000, to: Date.now() + 60_000 } })) as { input_issues: { version: number; feature: string; reason: string; count: number }[] };
      return m.input_issues.length === 3 && m.input_issues.every((i) => i.count === 2) ? m.input_issues : undefined;
    });
    expect(issues).toEqual([
      { version: 1, feature: "hasOwnProperty", reason: "out_of_vocabulary", count: 2 },
      { version: 1, feature: "plan", reason: "unknown_feature", count: 2 },
      { version: 1, feature: "tenure", reason: "unknown_feature", count: 2 },
    ]);
    const logged = (await lakeRecords(stack, "constructor")).filter((r) => r.request_id.startsWith("ignored-"));
    expect(logged).toHaveLength(2);
    for (const r of logged) expect(r).toMatchObject({ unknown_features: ["tenure", "plan"], out_of_vocabulary: ["hasOwnProperty"] });
  });
});
