// Open Inference Protocol v2 on the gateway: what Triton and KServe clients send, unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoExpected, demoMetadata, seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, testStack, type TestStack } from "../../test/helpers.ts";
import { conforms, oipErrorOf, protocol } from "../../test/oip-protocol.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
});
afterAll(() => stack?.dispose());

const auth = { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" };
const infer = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  stack.gateway(`/v2/models/demo${path}`, { method: "POST", headers: { ...auth, ...headers }, body: JSON.stringify(body) });
type Out = { model_version: string; id: string; parameters: { variant: string }; outputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };

describe("Open Inference Protocol v2", () => {
  it("answers health, readiness and metadata", async () => {
    expect(await (await stack.gateway("/v2/health/live")).json()).toEqual({ live: true });
    expect(await (await stack.gateway("/v2/health/ready")).json()).toEqual({ ready: true });
    expect(await (await stack.gateway("/v2/models/demo/ready", { headers: auth })).json()).toEqual({ name: "demo", ready: true });
    const meta = await conforms(await stack.gateway("/v2/models/demo", { headers: auth }), protocol.modelMetadata);
    expect(meta.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 6] }]);
    expect(meta.versions).toEqual(["1", "2"]);
  });

  it("serves the protocol's server metadata, and version-level metadata and readiness", async () => {
    expect(await conforms(await stack.gateway("/v2"), protocol.serverMetadata)).toEqual({ name: "verge-gateway", version: "1", extensions: [] });
    const v2 = await conforms(await stack.gateway("/v2/models/demo/versions/2", { headers: auth }), protocol.modelMetadata);
    expect(v2).toMatchObject({ name: "demo", versions: ["2"], inputs: [{ name: "input", datatype: "FP32", shape: [-1, 6] }], outputs: [{ name: "probability", datatype: "FP32", shape: [-1, 1] }] });
    expect(await (await stack.gateway("/v2/models/demo/versions/1/ready", { headers: auth })).json()).toEqual({ name: "demo", ready: true });
    const missing = await stack.gateway("/v2/models/demo/versions/9/ready", { headers: auth });
    expect(missing.status).toBe(404);
    expect((await oipErrorOf(missing)).message).toMatch(/no version 9/);
  });

  it("answers every error under /v2 with the protocol's error object and Verge's code beside it", async () => {
    const cases: [Promise<Response>, number, string][] = [
      [stack.gateway("/v2/models/demo"), 401, "unauthorized"],
      [stack.gateway("/v2/models/nope", { headers: auth }), 404, "not_found"],
      [stack.gateway("/v2/models/demo/versions/9", { headers: auth }), 404, "not_found"],
      [stack.gateway("/v2/models/Bad!/ready", { headers: auth }), 400, "bad_request"],
      [stack.gateway("/v2/models/demo/infer", { method: "POST", headers: auth, body: "{oops" }), 400, "bad_request"],
      [stack.gateway("/v2/no/such/route"), 404, "not_found"],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect((await oipErrorOf(res)).code).toBe(code);
    }
    // Outside /v2 the shared shape stays.
    const v1 = (await (await stack.gateway("/v1/models/nope/predict", { method: "POST", headers: auth, body: "{}" })).json()) as { error: { code: string } };
    expect(v1.error.code).toBe("not_found");
  });

  it("runs a pinned version on the model's own tensor, nested or flat", async () => {
    const x = [[12, 3, 0, 1, 0, 0], [30, 5, 1, 0, 1, 0]];
    for (const data of [x, x.flat()]) {
      const res = await infer("/versions/1/infer", { id: "r1", inputs: [{ name: "input", shape: [2, 6], datatype: "FP32", data }] });
      expect(res.status).toBe(200);
      const out = (await conforms(res, protocol.inferenceResponse)) as Out;
      expect(out).toMatchObject({ model_version: "1", id: "r1", parameters: { variant: "pinned" } });
      expect(out.outputs[0]).toMatchObject({ name: "probability", shape: [2, 1], datatype: "FP32" });
      expect(out.outputs[0]!.data[0]).toBeCloseTo(demoExpected("lr", { tenure_months: 12, sessions_7d: 3, is_member: false, plan: "free" }), 5);
      expect(out.outputs[0]!.data[1]).toBeCloseTo(demoExpected("lr", { tenure_months: 30, sessions_7d: 5, is_member: true, plan: "pro" }), 5);
    }
  });

  it("routes by parameters.unit (or x-verge-unit) like the predict API, not by the request id, with one tensor per feature", async () => {
    const unit = "user-9";
    const viaPredict = (await (await stack.predict("demo", { unit })).json()) as { variant: string; version: number };
    // A request id that the predict API, routing by request id, sends to the other variant: a
    // gateway that routed OIP requests by their id would answer with the wrong variant every time.
    let id: string | undefined;
    for (let i = 0; i < 64 && id === undefined; i++) {
      const byId = (await (await stack.predict("demo", { request_id: `oip-${i}` })).json()) as { variant: string; routed_by: string };
      expect(byId.routed_by).toBe("request_id");
      if (byId.variant !== viaPredict.variant) id = `oip-${i}`;
    }
    expect(id, "a request id routed to the other variant").toBeDefined();
    const inputs = [
      { name: "tenure_months", shape: [2], datatype: "FP32", data: [4, 40] },
      { name: "plan", shape: [2, 1], datatype: "BYTES", data: [["team"], ["free"]] },
      { name: "is_member", shape: [2], datatype: "BOOL", data: [true, false] },
    ];
    for (const [body, headers] of [[{ id, parameters: { unit }, inputs }, {}], [{ id, inputs }, { "x-verge-unit": unit }]] as const) {
      const res = await infer("/infer", body, headers);
      expect(res.status).toBe(200);
      const out = (await res.json()) as Out & { parameters: { routed_by: string } };
      expect(out.id).toBe(id);
      expect(out.parameters).toMatchObject({ variant: viaPredict.variant, routed_by: "unit" });
      expect(out.model_version).toBe(String(viaPredict.version));
      const kind = viaPredict.variant === "control" ? "lr" : "mlp";
      expect(out.outputs[0]!.data[0]).toBeCloseTo(demoExpected(kind, { tenure_months: 4, plan: "team", is_member: true }), 5);
      expect(out.outputs[0]!.data[1]).toBeCloseTo(demoExpected(kind, { tenure_months: 40, plan: "free", is_member: false }), 5);
    }
    // Without a unit, the id routes it, as the predict API does.
    const byId = (await (await infer("/infer", { id, inputs })).json()) as Out & { parameters: { routed_by: string } };
    expect(byId.parameters).toMatchObject({ routed_by: "request_id" });
    expect(byId.parameters.variant).not.toBe(viaPredict.variant);
  });

  it("answers a shape that does not match its data, and other bad tensors, with a 400", async () => {
    const cases: [unknown, RegExp][] = [
      [{ inputs: [{ name: "input", shape: [2, 6], datatype: "FP32", data: [1, 2, 3] }] }, /shape \[2, 6\] holds 12 values, data has 3/],
      [{ inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [1, 2, 3, "x", 5, 6] }] }, /data\[3\]: expected a number/],
      [{ inputs: [{ name: "input", shape: [1, 5], datatype: "FP32", data: [1, 2, 3, 4, 5] }] }, /takes \[N, 6\]/],
      [{ inputs: [{ name: "tenure_months", shape: [2], datatype: "FP32", data: [1, 2] }, { name: "plan", shape: [3], datatype: "BYTES", data: ["a", "b", "c"] }] }, /same N/],
      [{ inputs: [{ name: "tenure_months", shape: [1], datatype: "BYTES", data: ["long"] }] }, /tenure_months: expected number/],
      [{ inputs: [{ name: "input", shape: [1, 6], datatype: "FP32" }] }, /body\.inputs\[0\]\.data/],
      [{ parameters: { unit: 5 }, inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [1, 2, 3, 4, 5, 6] }] }, /parameters\.unit/],
    ];
    for (const [body, message] of cases) {
      const res = await infer("/versions/1/infer", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await oipErrorOf(res)).message).toMatch(message);
    }
    expect((await infer("/versions/9/infer", { inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [1, 2, 3, 4, 5, 6] }] })).status).toBe(404);
  });

  it("serves a pinned version only while it is deployed (variant, fallback or shadow) or aliased: 404 for never-deployed and rolled-back ones", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "pins", task: "binary_classification" });
    const key = "vk_pins_key_0123456789abcdefghijklmnop";
    await stack.admin.ok("POST", "/v1/keys", { name: "pins", models: ["pins"], key });
    const v = [];
    for (const w of [0.1, 0.2, 0.3, 0.4]) v.push((await stack.admin.uploadVersion("pins", logisticRegressionModel([w, 0, 0, 0, 0, 0], 0), demoMetadata("lr"))).version);
    const [v1, v2, v3, v4] = v as [number, number, number, number];
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [1, 0, 0, 0, 0, 0] }] });
    const pin = (version: number) => stack.gateway(`/v2/models/pins/versions/${version}/infer`, { method: "POST", headers, body });
    const meta = (version: number) => stack.gateway(`/v2/models/pins/versions/${version}`, { headers });
    const expectRefused = async (version: number) => {
      const res = await pin(version);
      expect(res.status, `version ${version}`).toBe(404);
      expect((await oipErrorOf(res)).message).toMatch(new RegExp(`no version ${version} that gateways serve`));
      expect((await meta(version)).status).toBe(404);
    };

    await stack.admin.ok("PUT", "/v1/models/pins/deployment", { variants: [{ name: "main", version: v1, weight: 10000 }], shadows: [{ version: v3, rate: 100 }] });
    expect((await pin(v1)).status).toBe(200);
    expect((await pin(v3)).status).toBe(200); // a shadow is deployed
    await expectRefused(v2); // uploaded, never deployed
    await expectRefused(v4);
    const listed = (await (await stack.gateway("/v2/models/pins", { headers })).json()) as { versions: string[] };
    expect(listed.versions).toEqual([String(v1), String(v3)]);

    // An alias makes a version pinnable; moving the deployment off a version (a rollback) does not keep it.
    await stack.admin.ok("PUT", "/v1/models/pins/aliases/staging", { version: v2 });
    expect((await pin(v2)).status).toBe(200);
    await stack.admin.ok("PUT", "/v1/models/pins/deployment", { variants: [{ name: "main", version: v4, weight: 10000 }] });
    expect((await pin(v4)).status).toBe(200);
    await expectRefused(v1);
    await expectRefused(v3);
  });
});
