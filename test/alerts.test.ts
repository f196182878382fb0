// Alerts end to end: planted drift raises one alert (deduplicated across sweeps), delivered to a
// real webhook receiver with a valid signature, retried after a failure; then acknowledged.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyRequest, type LogRecord } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { eventually, shardOf, testStack, waitConsumed, waitForCount, type TestStack } from "./helpers.ts";

let stack: TestStack;
const received: { body: string; headers: IncomingMessage["headers"]; path: string }[] = [];
let failNext = 1;
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (failNext > 0) {
      failNext--;
      res.writeHead(503).end();
      return;
    }
    received.push({ body, headers: req.headers, path: req.url ?? "/" });
    res.writeHead(204).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  // Each cron pass also maintains shards and the lake: the retry's delay leaves room for two passes.
  stack = await testStack({ alertRetryBaseMs: 2000 });
  await deployOneFeatureModel("watched", { features: { x: { edges: [0, 1, 2], counts: [100, 400, 400, 100] } } });
});

/** A one-feature model (x) deployed alone, optionally with a drift reference; returns its version. */
async function deployOneFeatureModel(name: string, reference?: unknown): Promise<number> {
  await stack.admin.ok("POST", "/v1/models", { name, task: "binary_classification" });
  const v = await stack.admin.uploadVersion(name, logisticRegressionModel([0.1], 0), {
    runtime: "edge",
    inputs: [{ name: "input", shape: [-1, 1] }],
    outputs: [{ name: "probability", shape: [-1, 1] }],
    feature_spec: { features: [{ name: "x", type: "number", default: 0 }] },
    ...(reference ? { reference } : {}),
  });
  await stack.admin.ok("PUT", `/v1/models/${name}/deployment`, { variants: [{ name: "main", version: v.version, weight: 10000 }] });
  return v.version;
}
afterAll(async () => {
  await stack?.dispose();
  receiver.close();
});

describe("alerts", () => {
  it("raises a drift alert once, delivers it signed, and retries a failed delivery", async () => {
    const port = (receiver.address() as AddressInfo).port;
    const hook = await stack.admin.ok<{ id: string; secret: string }>("POST", "/v1/webhooks", { url: `http://127.0.0.1:${port}/hooks/verge` });
    // 500 predictions whose x sits far above the reference.
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    const records: LogRecord[] = Array.from({ length: 500 }, (_, i) => ({ request_id: `a-${i}`, ts: Date.now(), model: "watched", version: 1, variant: "main", shadow: false, snapshot_version: 1, unit_hash: i, features: { x: 2.5 + (i % 3) }, outputs: { probability: 0.6 }, latency_ms: { total: 2, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t" }));
    await q.sendBatch([0, 100, 200, 300, 400].map((i) => ({ body: { records: records.slice(i, i + 100) } })));
    await eventually(async () => {
      const d = await stack.admin.ok<{ versions: { features: { samples: number }[] }[] }>("GET", "/v1/models/watched/drift");
      return d.versions[0]?.features[0]?.samples === 500 ? true : undefined;
    });
    const cron = await stack.mf.getWorker("verge-control-plane");
    await cron.scheduled({ cron: "* * * * *" }); // raises the alert; the first delivery fails (503)
    await cron.scheduled({ cron: "* * * * *" }); // same alert: refreshed, not duplicated; retry not due yet
    expect(received).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 2100));
    await cron.scheduled({ cron: "* * * * *" }); // the retry goes out
    expect(received).toHaveLength(1);

    const open = await stack.admin.ok<{ alerts: { id: number; kind: string; subject: string; status: string }[] }>("GET", "/v1/alerts?status=open&model=watched");
    expect(open.alerts.map((a) => [a.kind, a.subject])).toEqual([["drift", "x"]]);
    const delivery = received[0]!;
    const verdict = await verifyRequest(hook.secret, { method: "POST", path: delivery.path, timestamp: delivery.headers["x-verge-timestamp"] as string, signature: delivery.headers["x-verge-signature"] as string, body: delivery.body });
    expect(verdict).toEqual({ ok: true });
    expect(JSON.parse(delivery.body)).toMatchObject({ event: "alert.opened", alert: { kind: "drift", subject: "x", model: "watched" } });

    const acked = await stack.admin.ok<{ status: string }>("POST", `/v1/alerts/${open.alerts[0]!.id}/ack`);
    expect(acked.status).toBe("acknowledged");
    expect((await stack.admin.call("POST", `/v1/alerts/${open.alerts[0]!.id}/ack`)).status).toBe(409);
  });
});

describe("concept drift", () => {
  it("raises a concept-drift alert when labelled errors jump, from feedback joined to predictions", async () => {
    const version = await deployOneFeatureModel("concept");
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    const feedbackQ = await stack.mf.getQueueProducer<unknown>("FEEDBACK", "verge-gateway");
    const N = 1200;
    const records: LogRecord[] = Array.from({ length: N }, (_, i) => ({ request_id: `c-${i}`, ts: Date.now(), model: "concept", version, variant: "main", shadow: false, snapshot_version: 1, unit_hash: i, features: { x: 1 }, outputs: { probability: 0.8 }, latency_ms: { total: 2, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t" }));
    for (let i = 0; i < N; i += 100) await q.sendBatch([{ body: { records: records.slice(i, i + 100) } }]);
    await waitForCount(stack, "concept", N);
    // The model says "1" (0.8) every time: right 95% of the time at first, then right only half the time.
    let s = 3;
    const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const labels = records.map((r, i) => ({ body: { request_id: r.request_id, label: u() < (i < 800 ? 0.95 : 0.5) ? 1 : 0, ts: Date.now() + i, key_id: "k" } }));
    for (let i = 0; i < N; i += 100) {
      await feedbackQ.sendBatch(labels.slice(i, i + 100));
      await feedbackQ.sendBatch(labels.slice(i, i + 100)); // redelivered: must not move ADWIN twice
    }
    const alert = await eventually(async () => {
      const r = await stack.admin.ok<{ alerts: { kind: string; subject: string; details: { error_rate_after: number; error_rate_before: number } }[] }>("GET", "/v1/alerts?model=concept");
      return r.alerts.find((a) => a.kind === "concept_drift");
    }, 60_000);
    expect(alert.details.error_rate_after).toBeGreaterThan(alert.details.error_rate_before);
    // The alert can come before the last labels are stored; once every label message is consumed,
    // each label is stored exactly once.
    await waitConsumed(stack, "verge-feedback", 2 * N, 60_000);
    expect((await (await shardOf(stack, "concept", records[0]!.ts)).stats()).labelled).toBe(N);
  });
});

describe("alert timing", () => {
  it("a shift at time T raises an alert within one window (1 h) after T, and none before", async () => {
    // Reference: 10% below 0, 40% in [0, 1), 40% in [1, 2), 10% from 2 up.
    await deployOneFeatureModel("timed", { features: { x: { edges: [0, 1, 2], counts: [100, 400, 400, 100] } } });
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    const MIN = 60_000;
    const T = Date.now() - 30 * MIN;
    const record = (i: number, ts: number, x: number): LogRecord => ({ request_id: `t-${i}`, ts, model: "timed", version: 1, variant: "main", shadow: false, snapshot_version: 1, unit_hash: i, features: { x }, outputs: { probability: 0.6 }, latency_ms: { total: 2, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t" });
    const stationary = [-0.5, 0.2, 0.4, 0.6, 0.8, 1.2, 1.4, 1.6, 1.8, 2.5];
    // Before T: an hour of traffic drawn from the reference.
    const before = Array.from({ length: 1200 }, (_, i) => record(i, T - 60 * MIN + (i % 60) * MIN, stationary[i % 10]!));
    const send = async (rs: LogRecord[]) => {
      for (let i = 0; i < rs.length; i += 100) await q.sendBatch([{ body: { records: rs.slice(i, i + 100) } }]);
    };
    const samples = async () => (await stack.admin.ok<{ versions: { features: { samples: number }[] }[] }>("GET", "/v1/models/timed/drift?from=" + new Date(T - 61 * MIN).toISOString())).versions[0]?.features[0]?.samples;
    await send(before);
    await eventually(async () => ((await samples()) === 1200 ? true : undefined));
    const cron = await stack.mf.getWorker("verge-control-plane");
    await cron.scheduled({ cron: "* * * * *" });
    const open = async () => (await stack.admin.ok<{ alerts: { kind: string; subject: string; opened_at: string }[] }>("GET", "/v1/alerts?model=timed")).alerts;
    expect(await open()).toEqual([]); // stationary: quiet
    // From T on, x sits above 2; the sweep at T + 30 min (half a window) sees the shift.
    const after = Array.from({ length: 300 }, (_, i) => record(2000 + i, T + (i % 30) * MIN, 2.5));
    await send(after);
    await eventually(async () => ((await samples()) === 1500 ? true : undefined));
    await cron.scheduled({ cron: "* * * * *" });
    const alerts = await open();
    expect(alerts.map((a) => [a.kind, a.subject])).toEqual([["drift", "x"]]);
    const openedAt = Date.parse(/Z$/.test(alerts[0]!.opened_at) ? alerts[0]!.opened_at : `${alerts[0]!.opened_at.replace(" ", "T")}Z`);
    expect(openedAt - T).toBeLessThanOrEqual(60 * MIN);
    expect(openedAt - T).toBeGreaterThanOrEqual(30 * MIN - 5000);
  });
});
