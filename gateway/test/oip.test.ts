// Open Inference Protocol v2 on the gateway: what Triton and KServe clients send, unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoExpected, seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, testStack, type TestStack } from "../../test/helpers.ts";

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
    const meta = (await (await stack.gateway("/v2/models/demo", { headers: auth })).json()) as { inputs: { name: string; shape: number[] }[]; versions: string[] };
    expect(meta.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 6] }]);
    expect(meta.versions).toEqual(["1", "2"]);
  });

  it("runs a pinned version on the model's own tensor, nested or flat", async () => {
    const x = [[12, 3, 0, 1, 0, 0], [30, 5, 1, 0, 1, 0]];
    for (const data of [x, x.flat()]) {
      const res = await infer("/versions/1/infer", { id: "r1", inputs: [{ name: "input", shape: [2, 6], datatype: "FP32", data }] });
      expect(res.status).toBe(200);
      const out = (await res.json()) as Out;
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
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    expect((await infer("/versions/9/infer", { inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [1, 2, 3, 4, 5, 6] }] })).status).toBe(404);
  });
});
