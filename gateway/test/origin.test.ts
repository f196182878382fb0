// Origin forwarding against a real origin process (the trainer's OIP server on onnxruntime-node):
// signed requests, the registry as the model source, the fallback and the circuit breaker when
// the origin is stopped mid-test, and signature checks on the origin itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signOriginRequest } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoExpected, demoMetadata, seedDemo } from "../../scripts/lib/demo.ts";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { startOrigin } from "../../trainer/src/server.ts";
import { loadConfig } from "../../trainer/src/config.ts";
import { ADMIN_TOKEN, CLIENT_KEY, testStack, type TestStack } from "../../test/helpers.ts";
import { oipErrorOf } from "../../test/oip-protocol.ts";

const SECRET = "origin-secret-0123456789abcdef";
const W = [0.05, 0.2, 0.5, -0.3, 0.1, 0.4];
let stack: TestStack;
let origin: Awaited<ReturnType<typeof startOrigin>> | undefined;
let originPort: number;
let cpPort: number;
let originVersion: number;

const startOriginNode = async () =>
  startOrigin(
    loadConfig({
      PORT: String(originPort),
      VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${cpPort}`,
      VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN,
      VERGE_ORIGIN_SECRET: SECRET,
      VERGE_EXECUTION_PROVIDER: "cpu",
    }),
  );

beforeAll(async () => {
  originPort = await freePort();
  cpPort = await freePort();
  const gwPort = await freePort();
  stack = await testStack({ ports: { gateway: gwPort, controlPlane: cpPort }, gatewayBindings: { ORIGIN_URL: `http://127.0.0.1:${originPort}`, ORIGIN_SECRET: SECRET, ORIGIN_DEADLINE_MS: "1500", ORIGIN_BREAKER_COOLDOWN_MS: "1000" } });
  await seedDemo(stack.admin, CLIENT_KEY);
  const v = await stack.admin.uploadVersion("demo", logisticRegressionModel(W, 0.3), { ...demoMetadata("lr"), runtime: "origin" });
  originVersion = v.version;
  await stack.admin.ok("PUT", "/v1/models/demo/deployment", {
    variants: [
      { name: "heavy", version: originVersion, weight: 10000 },
      { name: "light", version: 1, weight: 0 },
    ],
    fallback: "light",
  });
  origin = await startOriginNode();
});
afterAll(async () => {
  await origin?.close();
  await stack?.dispose();
});

const features = { tenure_months: 7, sessions_7d: 2, is_member: true, plan: "team" };
const heavyExpected = () => {
  const x = [7, 2, 1, 0, 0, 1];
  return 1 / (1 + Math.exp(-x.reduce((s, v, i) => s + v * W[i]!, 0.3)));
};
type Body = { version: number; variant: string; outputs: { probability: number }; fallback?: { from: string; reason: string } };

describe("origin forwarding", () => {
  it("runs origin versions on the origin, fetched from the registry and verified", async () => {
    const res = await stack.predict("demo", { unit: "u", features });
    const body = (await res.json()) as Body;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ version: originVersion, variant: "heavy" });
    expect(body.outputs.probability).toBeCloseTo(heavyExpected(), 5);
  });

  it("falls back to the edge variant when the origin stops, and opens the breaker", async () => {
    await origin!.close();
    origin = undefined;
    for (let i = 0; i < 7; i++) {
      const res = await stack.predict("demo", { unit: `u${i}`, features });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Body;
      expect(body).toMatchObject({ version: 1, variant: "light", fallback: { from: "heavy" } });
      expect(body.outputs.probability).toBeCloseTo(demoExpected("lr", features), 5);
      if (i >= 5) expect(body.fallback!.reason).toMatch(/circuit open/);
    }
  });

  it("answers 503 in the shared shape when there is no fallback", async () => {
    // The test stack's snapshot TTL is 0: the next request sees the new deployment.
    await stack.admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "heavy", version: originVersion, weight: 10000 }] });
    const res = await stack.predict("demo", { unit: "x", features });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
  });

  it("closes the breaker again once the origin is back (half-open probe)", async () => {
    origin = await startOriginNode();
    // Wait out the breaker's cool-down (1 s here); then one probe closes it.
    await new Promise((r) => setTimeout(r, 1_200));
    const res = await stack.predict("demo", { unit: "y", features });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Body).version).toBe(originVersion);
  });
});

describe("the origin's own checks", () => {
  const path = () => `/v2/models/demo/versions/${originVersion}/infer`;
  const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [[7, 2, 1, 0, 0, 1]] }] });
  const url = () => `http://127.0.0.1:${originPort}${path()}`;
  const post = (headers: Record<string, string>, b = body) => fetch(url(), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: b });

  it("accepts a fresh signature and nested row-major data", async () => {
    const res = await post(await signOriginRequest(SECRET, "POST", url(), body));
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] };
    expect(out.outputs[0]!.shape).toEqual([1, 1]);
    expect(out.outputs[0]!.data[0]).toBeCloseTo(heavyExpected(), 5);
  });

  it("refuses unsigned, tampered, wrongly keyed and replayed requests with 401", async () => {
    expect((await post({})).status).toBe(401);
    expect((await post(await signOriginRequest(SECRET, "POST", url(), body), body.replace("7", "8"))).status).toBe(401);
    expect((await post(await signOriginRequest("another-secret-0123456789", "POST", url(), body))).status).toBe(401);
    expect((await post(await signOriginRequest(SECRET, "POST", url(), body, Date.now() - 60_000))).status).toBe(401);
    // Signed for another node (host), or sent twice (nonce): refused.
    expect((await post(await signOriginRequest(SECRET, "POST", `http://origin-b.internal:8789${path()}`, body))).status).toBe(401);
    const once = await signOriginRequest(SECRET, "POST", url(), body);
    expect((await post(once)).status).toBe(200);
    expect((await post(once)).status).toBe(401);
  });

  it("answers a shape that does not match its data with a 400 naming the tensor", async () => {
    const bad = JSON.stringify({ inputs: [{ name: "input", shape: [2, 6], datatype: "FP32", data: [1, 2, 3] }] });
    const res = await post(await signOriginRequest(SECRET, "POST", url(), bad), bad);
    expect(res.status).toBe(400);
    expect((await oipErrorOf(res)).message).toMatch(/inputs\.input: shape \[2, 6\] holds 12 values, data has 3/);
  });
});
