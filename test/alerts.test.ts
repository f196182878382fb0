// Alerts end to end, with the cron tick run for chosen moments (no sleeps): planted drift raises one
// alert (deduplicated across sweeps), delivered to a real webhook receiver with a valid signature
// and retried after a failure; guardrail and sample-ratio-mismatch alerts from the sweep; concept
// drift from labels that are redelivered; the timing of a drift alert; and the delivery backoff
// up to giving up.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyRequest, type LogRecord } from "@verge/shared";
import { deployOneFeatureModel, eventually, testStack, type TestStack } from "./helpers.ts";
import { countedTotal, settledAt, tick } from "./drain.ts";

let stack: TestStack;
/** Every request the receiver got, by path; `/hooks/flaky` fails its first request, `/hooks/down` every one. */
const hits: { body: string; headers: IncomingMessage["headers"]; path: string; status: number }[] = [];
let flakyFailures = 1;
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const path = req.url ?? "/";
    const fail = path === "/hooks/down" || (path === "/hooks/flaky" && flakyFailures-- > 0);
    const status = fail ? 503 : 204;
    hits.push({ body, headers: req.headers, path, status });
    res.writeHead(status).end();
  });
});
const hitsOf = (path: string, status?: number) => hits.filter((h) => h.path === path && (status === undefined || h.status === status));
const hookUrl = (path: string) => `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${path}`;

/** The stack's delivery backoff base (ALERT_RETRY_BASE_MS default). */
const BASE = 30_000;
const MIN = 60_000;
const REFERENCE = { features: { x: { edges: [0, 1, 2], counts: [100, 400, 400, 100] } } };

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  stack = await testStack();
});
afterAll(async () => {
  await stack?.dispose();
  receiver.close();
});


const record = (model: string, id: string, ts: number, x: number, extra: Partial<LogRecord> = {}): LogRecord => ({
  request_id: id,
  ts,
  model,
  version: 1,
  variant: "main",
  shadow: false,
  snapshot_version: 1,
  unit_hash: 0,
  features: { x },
  outputs: { probability: 0.6 },
  latency_ms: { total: 2, features: 0, infer: 1 },
  status: "ok",
  degraded: [],
  colo: "t",
  ...extra,
});

async function send(records: LogRecord[]): Promise<void> {
  const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
  for (let i = 0; i < records.length; i += 500) {
    await q.sendBatch([0, 100, 200, 300, 400].map((j) => records.slice(i + j, i + j + 100)).filter((rs) => rs.length).map((rs) => ({ body: { records: rs } })));
  }
}

type Alert = { id: number; kind: string; subject: string; status: string; opened_at: string; details: Record<string, unknown> };
const alertsOf = async (model: string, status = "") => (await stack.admin.ok("GET", `/v1/alerts?model=${model}${status && `&status=${status}`}`)).alerts;
const driftSamples = async (model: string, query = "") =>
  ((await stack.admin.ok("GET", `/v1/models/${model}/drift${query}`)) as { versions: { features: { samples: number }[] }[] }).versions[0]?.features[0]?.samples ?? 0;

describe("alerts", () => {
  it("raises a drift alert once, delivers it signed, and retries a failed delivery once the backoff is due", async () => {
    const hook = await stack.admin.ok("POST", "/v1/webhooks", { url: hookUrl("/hooks/flaky") });
    await deployOneFeatureModel(stack, "watched", REFERENCE);
    // 500 predictions whose x sits far above the reference.
    await send(Array.from({ length: 500 }, (_, i) => record("watched", `a-${i}`, Date.now(), 2.5 + (i % 3))));
    await eventually(async () => ((await driftSamples("watched")) === 500 ? true : undefined), 60_000);
    const t0 = Date.now();
    await tick(stack, t0); // raises the alert; the first delivery fails (503)
    expect(hitsOf("/hooks/flaky").map((h) => h.status)).toEqual([503]);
    await tick(stack, t0 + BASE - 1); // same alert: refreshed, not duplicated; the retry is not due yet
    expect(hitsOf("/hooks/flaky").map((h) => h.status)).toEqual([503]);
    await tick(stack, t0 + BASE); // now it is
    expect(hitsOf("/hooks/flaky").map((h) => h.status)).toEqual([503, 204]);

    const open = await alertsOf("watched", "open");
    expect(open.map((a) => [a.kind, a.subject])).toEqual([["drift", "x"]]);
    const delivery = hitsOf("/hooks/flaky", 204)[0]!;
    const verdict = await verifyRequest(hook.secret, { method: "POST", path: delivery.path, timestamp: delivery.headers["x-verge-timestamp"] as string, signature: delivery.headers["x-verge-signature"] as string, body: delivery.body });
    expect(verdict).toEqual({ ok: true });
    expect(JSON.parse(delivery.body)).toMatchObject({ event: "alert.opened", alert: { id: open[0]!.id, kind: "drift", subject: "x", model: "watched" } });
    const outbox = await stack.admin.ok("GET", `/v1/webhooks/${hook.id}/deliveries`);
    expect(outbox.deliveries).toEqual([expect.objectContaining({ alert_id: open[0]!.id, status: "delivered", attempts: 2 })]);

    const acked = await stack.admin.ok("POST", `/v1/alerts/${open[0]!.id}/ack`);
    expect(acked.status).toBe("acknowledged");
    expect((await stack.admin.raw("POST", `/v1/alerts/${open[0]!.id}/ack`)).status).toBe(409);
  });
});

describe("guardrail and sample-ratio-mismatch alerts", () => {
  it("are raised by the sweep for the variant that breaks them, and only for it", async () => {
    // Two variants at 50/50; "b" fails 30% of the time at 3 s (default guardrails: 5%, p99 1,000 ms),
    // and gets 400 predictions to "a"'s 700: far from 50/50 for 1,100 units.
    await deployOneFeatureModel(stack, "guarded", undefined, [
      { name: "a", weight: 5000 },
      { name: "b", weight: 5000 },
    ]);
    const now = Date.now();
    const a = Array.from({ length: 700 }, (_, i) => record("guarded", `g-a-${i}`, now, 1, { variant: "a" }));
    const b = Array.from({ length: 400 }, (_, i) => record("guarded", `g-b-${i}`, now, 1, { variant: "b", status: i % 10 < 3 ? "error" : "ok", latency_ms: { total: 3000, features: 0, infer: 2990 } }));
    await send([...a, ...b]);
    expect(await settledAt(stack, () => countedTotal(stack, "guarded"), 1100)).toBe(1100);
    expect(await alertsOf("guarded")).toEqual([]);
    await tick(stack, Date.now());
    const raised = (await alertsOf("guarded")).map((x) => [x.kind, x.subject]).sort();
    expect(raised).toEqual([
      ["guardrail", "b:error_rate"],
      ["guardrail", "b:p99"],
      ["sample_ratio_mismatch", "assignment"],
    ]);
    const srm = (await alertsOf("guarded")).find((x) => x.kind === "sample_ratio_mismatch")!;
    expect(srm.details).toMatchObject({ counts: [700, 400], weights: [5000, 5000], mismatch: true });
    const errorRate = (await alertsOf("guarded")).find((x) => x.subject === "b:error_rate")!;
    expect(errorRate.details).toMatchObject({ error_rate: 0.3, samples: 400 });
  });
});

describe("concept drift", () => {
  it("raises a concept-drift alert when labelled errors jump; a redelivered label does not move the detector twice", { timeout: 240_000 }, async () => {
    const version = await deployOneFeatureModel(stack, "concept");
    const feedbackQ = await stack.mf.getQueueProducer<unknown>("FEEDBACK", "verge-gateway");
    const N = 1200;
    // N predictions to label, and one more whose label is sent last, as a barrier.
    const records = Array.from({ length: N + 1 }, (_, i) => record("concept", `c-${i}`, Date.now(), 1, { version, unit_hash: i, outputs: { probability: 0.8 } }));
    await send(records);
    expect(await settledAt(stack, () => countedTotal(stack, "concept"), N + 1)).toBe(N + 1);
    // The model says "1" (0.8) every time: right 95% of the time at first, then right only half the time.
    let s = 3;
    const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const labels = records.slice(0, N).map((r, i) => ({ body: { request_id: r.request_id, label: u() < (i < 800 ? 0.95 : 0.5) ? 1 : 0, ts: Date.now() + i, key_id: "k" } }));
    for (let i = 0; i < N; i += 100) {
      await feedbackQ.sendBatch(labels.slice(i, i + 100));
      await feedbackQ.sendBatch(labels.slice(i, i + 100)); // redelivered: must not move ADWIN twice
    }
    const alert = await eventually(async () => (await alertsOf("concept")).find((a) => a.kind === "concept_drift"), 60_000);
    const details = alert.details as { error_rate_after: number; error_rate_before: number };
    expect(details.error_rate_after).toBeGreaterThan(details.error_rate_before);

    type Concept = { labels: number | null; window: number; error_rate: number | null } | null;
    const detector = async () => (await stack.admin.ok("GET", "/v1/models/concept/drift")).versions.find((v) => v.version === version)!.concept;
    await eventually(async () => ((await detector())?.labels ?? 0) >= N ? true : undefined, 60_000);
    // The barrier label goes after every copy: once it is in, nothing is left to arrive.
    await feedbackQ.send({ request_id: `c-${N}`, label: 1, ts: Date.now() + N, key_id: "k" });
    await eventually(async () => ((await detector())?.labels ?? 0) > N ? true : undefined, 60_000);
    const final = (await detector())!;
    expect(final.labels).toBe(N + 1);
    expect(final.window).toBeLessThanOrEqual(N + 1);
  });
});

describe("alert timing", () => {
  it("a shift at T raises no alert at any tick up to T and one by T + window, opened at the tick that saw it", async () => {
    // Reference: 10% below 0, 40% in [0, 1), 40% in [1, 2), 10% from 2 up. Ten records a minute:
    // drawn exactly in those shares for an hour before T, then all above 2 for an hour from T.
    await deployOneFeatureModel(stack, "timed", REFERENCE);
    const T = Math.floor(Date.now() / MIN) * MIN - 120 * MIN;
    const stationary = [-0.5, 0.2, 0.4, 0.6, 0.8, 1.2, 1.4, 1.6, 1.8, 2.5];
    const before = Array.from({ length: 600 }, (_, i) => record("timed", `t-${i}`, T - 60 * MIN + Math.floor(i / 10) * MIN + (i % 10), stationary[i % 10]!));
    const after = Array.from({ length: 600 }, (_, i) => record("timed", `t-${600 + i}`, T + Math.floor(i / 10) * MIN + (i % 10), 2.5));
    await send([...before, ...after]);
    const all = `?from=${T - 61 * MIN}&to=${T + 61 * MIN}`;
    expect(await settledAt(stack, () => countedTotal(stack, "timed", all), 1200)).toBe(1200);

    // Ticks every 5 minutes from T − 30 min to T + 60 min, in order, as the cron would run them.
    const ticks = Array.from({ length: 19 }, (_, k) => T - 30 * MIN + k * 5 * MIN);
    let first: { at: number; alerts: Alert[] } | undefined;
    for (const at of ticks) {
      await tick(stack, at);
      const alerts = await alertsOf("timed");
      if (at <= T) expect(alerts, `tick at T${(at - T) / MIN} min`).toEqual([]);
      if (alerts.length && !first) first = { at, alerts };
    }
    expect(first, "no alert by T + 60 min").toBeDefined();
    expect(first!.at).toBeGreaterThan(T);
    expect(first!.at).toBeLessThanOrEqual(T + 60 * MIN);
    expect(first!.alerts.map((a) => [a.kind, a.subject])).toEqual([["drift", "x"]]);
    expect(Date.parse(first!.alerts[0]!.opened_at)).toBe(first!.at);
    expect(first!.alerts[0]!.details.window).toEqual({ from: new Date(first!.at - 59 * MIN - (first!.at % MIN)).toISOString(), to: new Date(first!.at + MIN - (first!.at % MIN)).toISOString() });
  });
});

describe("webhook delivery backoff", () => {
  it("doubles the wait after each failure and gives up after the eighth attempt", async () => {
    // Only the failing receiver is registered now.
    for (const w of (await stack.admin.ok("GET", "/v1/webhooks")).webhooks) await stack.admin.ok("DELETE", `/v1/webhooks/${w.id}`);
    const hook = await stack.admin.ok("POST", "/v1/webhooks", { url: hookUrl("/hooks/down") });
    await deployOneFeatureModel(stack, "backoff", REFERENCE);
    await send(Array.from({ length: 500 }, (_, i) => record("backoff", `b-${i}`, Date.now(), 2.5)));
    await eventually(async () => ((await driftSamples("backoff")) === 500 ? true : undefined), 60_000);

    // (Other models' alerts may go to the same receiver; only this model's are counted.)
    const attempts = () => hitsOf("/hooks/down").filter((h) => (JSON.parse(h.body) as { alert: { model: string } }).alert.model === "backoff").length;
    let at = Date.now();
    await tick(stack, at); // raises the alert: attempt 1 fails
    expect(attempts()).toBe(1);
    const waits: number[] = [];
    for (let attempt = 2; attempt <= 8; attempt++) {
      const wait = BASE * 2 ** (attempt - 2);
      await tick(stack, at + wait - 1);
      expect(attempts(), `attempt ${attempt} went out early`).toBe(attempt - 1);
      at += wait;
      await tick(stack, at);
      expect(attempts(), `attempt ${attempt} is due`).toBe(attempt);
      waits.push(wait);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64].map((k) => k * BASE));
    // Given up: a day later nothing more goes out, and the outbox says so.
    await tick(stack, at + 86_400_000);
    expect(attempts()).toBe(8);
    const alert = (await alertsOf("backoff")).find((a) => a.kind === "drift")!;
    const outbox = await stack.admin.ok("GET", `/v1/webhooks/${hook.id}/deliveries`);
    expect(outbox.deliveries.find((d) => d.alert_id === alert.id)).toEqual({ alert_id: alert.id, status: "failed", attempts: 8, last_error: "answered 503", next_attempt_at: null });
  });
});
