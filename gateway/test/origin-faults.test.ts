// How the gateway treats a misbehaving origin: a hang ends at the deadline, a connection error is
// retried once and nothing else is, 4xx answers leave the circuit breaker closed while 5xx answers
// open it; and a staged rollout whose candidate runs slowly on the origin is rolled back by the p99
// guardrail. The origin here is a scripted OIP server (it checks the gateway's signature): the real
// one cannot be made to hang, reset connections or answer 5xx on demand.
import { createServer, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyOriginRequest } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoExpected, demoMetadata, seedDemo } from "../../scripts/lib/demo.ts";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { CLIENT_KEY, errorOf, testStack, type TestStack } from "../../test/helpers.ts";
import { settledAt, tick } from "../../test/drain.ts";

const SECRET = "origin-secret-0123456789abcdef";
// Far above the slow origin's 600 ms, so a loaded machine does not turn slowness into a timeout.
const DEADLINE_MS = 5000;
const ORIGIN_OUTPUT = 0.25;

type Mode = { kind: "ok"; delayMs?: number } | { kind: "hang" } | { kind: "reset"; times: number } | { kind: "status"; status: number };
let mode: Mode = { kind: "ok" };
/** Requests that reached the origin (signature checked), in order. */
const received: string[] = [];
const sockets = new Set<Socket>();
const hanging: ServerResponse[] = [];

const origin = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", async () => {
    const path = req.url ?? "/";
    const verdict = await verifyOriginRequest(SECRET, { method: req.method ?? "POST", host: req.headers.host, path, timestamp: String(req.headers["x-verge-timestamp"]), nonce: String(req.headers["x-verge-nonce"]), signature: String(req.headers["x-verge-signature"]), body });
    if (!verdict.ok) return void res.writeHead(401).end();
    received.push(mode.kind);
    if (mode.kind === "hang") return void hanging.push(res);
    if (mode.kind === "reset" && mode.times-- > 0) return void req.socket.destroy();
    if (mode.kind === "status") return void res.writeHead(mode.status, { "content-type": "application/json" }).end(JSON.stringify({ error: "scripted" }));
    const rows = (JSON.parse(body) as { inputs: { shape: number[] }[] }).inputs[0]!.shape[0]!;
    const answer = () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ model_name: "demo", outputs: [{ name: "probability", shape: [rows, 1], datatype: "FP32", data: Array(rows).fill(ORIGIN_OUTPUT) }] }));
    if (mode.kind === "ok" && mode.delayMs) setTimeout(answer, mode.delayMs);
    else answer();
  });
});
origin.on("connection", (s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});

let stack: TestStack;
let originVersion: number;
/** The scripted origin's URL, which the gateway's messages name (it is the default pool's one node). */
let originUrl: string;
const features = { tenure_months: 7, sessions_7d: 2, is_member: true, plan: "team" };

beforeAll(async () => {
  const port = await freePort();
  await new Promise<void>((r) => origin.listen(port, "127.0.0.1", r));
  originUrl = `http://127.0.0.1:${port}`;
  // A long cool-down: once open, the breaker stays open for the rest of the file.
  stack = await testStack({ gatewayBindings: { ORIGIN_URL: `http://127.0.0.1:${port}`, ORIGIN_SECRET: SECRET, ORIGIN_DEADLINE_MS: String(DEADLINE_MS), ORIGIN_BREAKER_COOLDOWN_MS: "600000" } });
  await seedDemo(stack.admin, CLIENT_KEY);
  originVersion = (await stack.admin.uploadVersion("demo", logisticRegressionModel([0.05, 0.2, 0.5, -0.3, 0.1, 0.4], 0.3), { ...demoMetadata("lr"), runtime: "origin" })).version;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  for (const s of sockets) s.destroy();
  origin.close();
  await stack?.dispose();
});

type Body = { version: number; variant: string; outputs: { probability: number } };

describe("a staged rollout on a slow origin", () => {
  it("is rolled back by the p99 guardrail, from real traffic through the gateway", { timeout: 120_000 }, async () => {
    await stack.admin.ok("PUT", "/v1/models/demo/aliases/production", { version: 1 });
    await stack.admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
    await stack.admin.ok("PUT", "/v1/models/demo/promotion-rule", { min_samples: 1000, min_duration_s: 0, guardrails: { max_error_rate: 0.5, max_p99_ms: 400, min_samples: 10 } });
    const started = await stack.admin.ok("POST", "/v1/models/demo/promote", { version: originVersion, plan: { steps: [5000, 10000], interval_s: 600 } });
    mode = { kind: "ok", delayMs: 600 };

    const units = Array.from({ length: 40 }, (_, i) => `p99-${i}`);
    const served: (Body & { unit: string; fallback?: unknown })[] = [];
    for (let i = 0; i < units.length; i += 10) {
      served.push(...(await Promise.all(units.slice(i, i + 10).map(async (unit) => {
        const res = await stack.predict("demo", { unit, features });
        expect(res.status).toBe(200);
        return { unit, ...((await res.json()) as Body) };
      }))));
    }
    expect(served.filter((s) => s.fallback !== undefined)).toEqual([]);
    const onCandidate = served.filter((s) => s.variant === "candidate");
    expect(onCandidate.length).toBeGreaterThanOrEqual(10);
    for (const s of onCandidate) expect(s).toMatchObject({ version: originVersion, outputs: { probability: ORIGIN_OUTPUT } });
    for (const s of served.filter((x) => x.variant === "baseline")) expect(s.outputs.probability).toBeCloseTo(demoExpected("lr", features), 5);

    // Every prediction counted, then one tick of the cron judges the step.
    type Series = { variant: string; count: number; errors: number; latency_ms: { p99: number | null } }[];
    const series = async () => (await stack.admin.ok("GET", "/v1/models/demo/metrics")).series;
    const total = async () => (await series()).filter((s) => s.variant === "candidate" || s.variant === "baseline").reduce((t, s) => t + s.count, 0);
    expect(await settledAt(stack, total, units.length)).toBe(units.length);
    const candidate = (await series()).find((s) => s.variant === "candidate")!;
    expect(candidate).toMatchObject({ count: onCandidate.length, errors: 0 });
    expect(candidate.latency_ms.p99).toBeGreaterThan(400);
    await tick(stack, Date.parse(started.rollout.step_started_at) + 1000);

    const rollout = (await stack.admin.ok("GET", "/v1/models/demo/rollouts")).rollouts[0]!;
    expect(rollout.status).toBe("rolled_back");
    expect(rollout.reason).toMatch(/^guardrail: p99 \d+\.\d ms > 400 ms$/);
    expect((await stack.admin.ok("GET", "/v1/models/demo/deployment")).variants.map((v) => v.name)).toEqual(["main"]);
    // The units that were on the candidate are back on production, at the edge.
    const before = received.length;
    for (const s of onCandidate.slice(0, 5)) {
      const body = (await (await stack.predict("demo", { unit: s.unit, features })).json()) as Body;
      expect(body).toMatchObject({ version: 1, variant: "main" });
    }
    expect(received.length).toBe(before);
  });
});

describe("origin faults", () => {
  const predict = async () => {
    const started = Date.now();
    const res = await stack.predict("demo", { unit: "fault", features });
    return { res, ms: Date.now() - started };
  };
  const reached = async (f: () => Promise<unknown>) => {
    const before = received.length;
    await f();
    return received.slice(before);
  };

  beforeAll(async () => {
    await stack.admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "heavy", version: originVersion, weight: 10000 }] });
  });

  it("answers from the origin when it answers", async () => {
    mode = { kind: "ok" };
    const calls = await reached(async () => {
      const { res } = await predict();
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ version: originVersion, outputs: { probability: ORIGIN_OUTPUT } });
    });
    expect(calls).toHaveLength(1);
  });

  it("gives up on a hanging origin at the deadline, without retrying", async () => {
    mode = { kind: "hang" };
    const calls = await reached(async () => {
      const { res, ms } = await predict();
      expect(res.status).toBe(503);
      expect((await errorOf(res)).message).toBe(`origin ${originUrl}: no answer within ${DEADLINE_MS} ms`);
      expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
      expect(ms).toBeLessThan(DEADLINE_MS + 2000);
    });
    expect(calls).toEqual(["hang"]);
  });

  it("retries a connection error once, and only once", async () => {
    mode = { kind: "reset", times: 1 };
    const recovered = await reached(async () => {
      const { res } = await predict();
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ version: originVersion, outputs: { probability: ORIGIN_OUTPUT } });
    });
    expect(recovered).toHaveLength(2);
    mode = { kind: "reset", times: 1000 };
    const failed = await reached(async () => {
      const { res } = await predict();
      expect(res.status).toBe(503);
      expect((await errorOf(res)).message.startsWith(`origin ${originUrl}: unreachable (`)).toBe(true);
    });
    expect(failed).toHaveLength(2);
  });

  it("does not retry a 4xx answer, and 4xx answers leave the breaker closed", async () => {
    mode = { kind: "ok" }; // a success resets the breaker's count
    expect((await predict()).res.status).toBe(200);
    mode = { kind: "status", status: 400 };
    const calls = await reached(async () => {
      for (let i = 0; i < 8; i++) {
        const { res } = await predict();
        expect(res.status).toBe(503);
        expect((await errorOf(res)).message).toMatch(/^origin refused the request: 400/);
      }
    });
    // Eight in a row, more than the five failures that open the breaker: every one reached the origin.
    expect(calls).toHaveLength(8);
  });

  it("does not retry a 5xx answer, and five 5xx answers in a row open the breaker", async () => {
    mode = { kind: "ok" };
    expect((await predict()).res.status).toBe(200);
    mode = { kind: "status", status: 503 };
    const calls = await reached(async () => {
      for (let i = 0; i < 5; i++) {
        const { res } = await predict();
        expect(res.status).toBe(503);
        // A 503 says the node ran nothing: another node of the pool may take the request, but
        // this pool has one node, which just refused, so nothing is retried.
        expect((await errorOf(res)).message).toBe(`origin ${originUrl}: not ready (scripted)`);
      }
    });
    expect(calls).toHaveLength(5);
    mode = { kind: "ok" };
    const blocked = await reached(async () => {
      const { res } = await predict();
      expect(res.status).toBe(503);
      expect((await errorOf(res)).message).toBe('origin: circuit open after repeated failures on every node of pool "default"');
    });
    expect(blocked).toHaveLength(0);
  });
});
