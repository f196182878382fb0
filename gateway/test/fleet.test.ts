// An origin pool of three real origin processes behind the gateway in workerd, under steady
// concurrent load: one node is killed outright mid-run and later started again. No client may
// see an error (only added latency), every answer must come from the origin version, and the
// returned node must get traffic again once its circuit's probe succeeds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoMetadata, seedDemo } from "../../scripts/lib/demo.ts";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { ADMIN_TOKEN, CLIENT_KEY, eventually, testStack, type TestStack } from "../../test/helpers.ts";
import { startOriginProcess, type OriginProcess } from "../../test/origin-processes.ts";

const SECRET = "fleet-secret-0123456789abcdef";
const W = [0.05, 0.2, 0.5, -0.3, 0.1, 0.4];
let stack: TestStack;
let gwPort: number;
let cpPort: number;
let ports: number[];
const nodes: (OriginProcess | undefined)[] = [];
let version: number;

const originEnv = () => ({ VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${cpPort}`, VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN, VERGE_ORIGIN_SECRET: SECRET });

beforeAll(async () => {
  [gwPort, cpPort, ...ports] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const pools = { gpu: { nodes: ports.map((p) => `http://127.0.0.1:${p}`), auth: { kind: "hmac", secret: "ORIGIN_SECRET_GPU" }, deadline_ms: 5000 } };
  stack = await testStack({
    ports: { gateway: gwPort, controlPlane: cpPort },
    gatewayBindings: { ORIGIN_POOLS: JSON.stringify(pools), ORIGIN_SECRET_GPU: SECRET, ORIGIN_BREAKER_COOLDOWN_MS: "1000" },
  });
  await seedDemo(stack.admin, CLIENT_KEY);
  const v = await stack.admin.uploadVersion("demo", logisticRegressionModel(W, 0.3), { ...demoMetadata("lr"), runtime: "origin", pool: "gpu" });
  version = v.version;
  // No fallback: an origin failure the pool did not absorb would reach the client as a 503.
  await stack.admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "heavy", version, weight: 10000 }] });
  nodes.push(...(await Promise.all(ports.map((p) => startOriginProcess(p, originEnv())))));
}, 180_000);
afterAll(async () => {
  await Promise.all(nodes.map((n) => n?.kill()));
  await stack?.dispose();
});

const features = { tenure_months: 7, sessions_7d: 2, is_member: true, plan: "team" };
const expected = 1 / (1 + Math.exp(-[7, 2, 1, 0, 0, 1].reduce((s, v, i) => s + v * W[i]!, 0.3)));

interface Outcome {
  status: number;
  ms: number;
  body: string;
}

/** `clients` loops calling the gateway over HTTP until `stop()`; every outcome is kept. */
function load(clients: number) {
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; running; i++) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${gwPort}/v1/models/demo/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ unit: `c${c}-${i}`, features }),
      });
      outcomes.push({ status: res.status, body: await res.text(), ms: performance.now() - t0 });
    }
  });
  return {
    outcomes,
    count: () => outcomes.length,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe("an origin pool under load while a node dies and returns", () => {
  it("answers every request from the origin version, and the restarted node serves again", async () => {
    const traffic = load(6);
    try {
      // Every node takes part before anything goes wrong.
      await eventually(async () => ((await Promise.all(nodes.map((n) => n!.served()))).every((n) => n > 0) ? true : undefined), 60_000);

      const victim = 1;
      await nodes[victim]!.kill();
      nodes[victim] = undefined;
      const atKill = traffic.count();
      // Load goes on against two nodes: enough requests for the circuit to open and probe again.
      await eventually(async () => (traffic.count() >= atKill + 150 ? true : undefined), 60_000, 50);

      nodes[victim] = await startOriginProcess(ports[victim]!, originEnv());
      const atRestart = traffic.count();
      // The breaker's half-open probe finds the node back, and traffic returns to it.
      await eventually(async () => ((await nodes[victim]!.served()) >= 20 ? true : undefined), 60_000, 200);
      expect(traffic.count()).toBeGreaterThan(atRestart);
    } finally {
      await traffic.stop();
    }

    const failures = traffic.outcomes.filter((o) => o.status !== 200);
    expect(failures.map((f) => `${f.status} ${f.body.slice(0, 200)}`)).toEqual([]);
    for (const o of traffic.outcomes) {
      const body = JSON.parse(o.body) as { version: number; outputs: { probability: number }; fallback?: unknown };
      expect(body.version).toBe(version);
      expect(body.fallback).toBeUndefined();
      expect(body.outputs.probability).toBeCloseTo(expected, 5);
    }
    const ms = traffic.outcomes.map((o) => o.ms).sort((a, b) => a - b);
    console.log(`fleet: ${ms.length} requests, all 200; p50 ${ms[Math.floor(ms.length / 2)]!.toFixed(1)} ms, max ${ms.at(-1)!.toFixed(1)} ms`);
  }, 240_000);
});
