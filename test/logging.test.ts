// Prediction logs end to end at the gateway's real limits: concurrent bursts of multi-instance
// requests with long non-ASCII values are counted exactly once, with no per-prediction row in D1,
// and land in the log lake as served; failed attempts are logged (and guardrails see them);
// redaction happens before anything is stored; the lake forgets partitions past their retention.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoMetadata, seedDemo } from "../scripts/lib/demo.ts";
import { CLIENT_KEY, d1Rows, eventually, lakeRecords, testStack, waitForCount, type TestStack } from "./helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
});
afterAll(() => stack?.dispose());

const lake = (model: string, query: { from?: number; to?: number } = {}) => lakeRecords(stack, model, query);

describe("bursts at the queue's limits", () => {
  it("counts every accepted row exactly once, stores no per-prediction row in D1, and keeps each row as served in the lake", async () => {
    // A product title of 1,000 Japanese characters: 3,000 bytes of UTF-8, 1,000 of string length.
    const title = (i: number) => `${i}:` + "東京で人気の限定スニーカー".repeat(80).slice(0, 990);
    const before = await d1Rows(stack);
    const sizes = [1, 7, 30, 60];
    const requests = Array.from({ length: 24 }, (_, r) => {
      const n = sizes[r % sizes.length]!;
      const instances = Array.from({ length: n }, (_, i) => ({ features: { tenure_months: i, plan: r % 2 ? title(r * 100 + i) : "pro" } }));
      return { unit: `burst-${r}`, request_id: `burst-${r}`, ...(n === 1 ? { features: instances[0]!.features } : { instances }) };
    });
    // Two waves of concurrent requests: the gateway isolate packs their rows into shared envelopes.
    let accepted = 0;
    for (const wave of [requests.slice(0, 12), requests.slice(12)]) {
      const replies = await Promise.all(wave.map((body) => stack.predict("demo", body)));
      for (const [i, res] of replies.entries()) {
        expect(res.status).toBe(200);
        await res.body?.cancel();
        const body = wave[i]!;
        accepted += "instances" in body ? body.instances!.length : 1;
      }
    }
    expect(accepted).toBe(6 * (1 + 7 + 30 + 60));
    await waitForCount(stack, "demo", accepted, { timeoutMs: 45_000 });
    // Every send went through the queue: nothing had to be spilled.
    expect((await stack.admin.ok("GET", "/v1/dead-letters")).health.spill_pending_objects).toBe(0);

    // D1 holds no per-prediction state: only the shard directory gained its row for today.
    const after = await d1Rows(stack);
    // (`settings` may gain its one row: the client-key salt, made with the first snapshot.)
    const grown = Object.entries(after).filter(([t, n]) => n !== before[t] && t !== "settings");
    expect(grown.map(([t]) => t)).toEqual(grown.length ? ["rollup_shards"] : []);
    expect((after.settings ?? 0) - (before.settings ?? 0)).toBeLessThanOrEqual(1);
    expect((after.rollup_shards ?? 0) - (before.rollup_shards ?? 0)).toBeLessThanOrEqual(1);

    // The lake has every row once, with its long value whole.
    const rows = (await lake("demo")).filter((r) => r.request_id.startsWith("burst-"));
    expect(rows).toHaveLength(accepted);
    const expected = requests.flatMap((body) => ("instances" in body ? body.instances!.map((inst, i) => [`${body.request_id}#${i}`, inst.features.plan]) : [[body.request_id, body.features!.plan]]));
    expect(rows.map((r) => [r.request_id, r.features.plan]).sort()).toEqual(expected.sort());
    expect(rows.every((r) => r.truncated === undefined && r.key_id !== undefined)).toBe(true);
  });
});

describe("failed attempts", () => {
  it("logs an attempt that failed with no fallback as an error with its reason, so a guardrail sees the outage", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "down", task: "binary_classification" });
    // An `origin` version, with no origin configured on this gateway: every attempt fails.
    const v = await stack.admin.uploadVersion("down", logisticRegressionModel([0.1, 0, 0, 0, 0, 0], 0), { ...demoMetadata("lr"), runtime: "origin" });
    await stack.admin.ok("PUT", "/v1/models/down/deployment", { variants: [{ name: "main", version: v.version, weight: 10000 }] });
    await stack.admin.ok("PUT", "/v1/models/down/promotion-rule", { guardrails: { max_error_rate: 0.05, max_p99_ms: 1000, min_samples: 5 } });
    await stack.admin.ok("POST", "/v1/keys", { name: "down", models: ["down"], key: "vk_down_key_0123456789abcdefghij" });
    for (let i = 0; i < 6; i++) {
      const res = await stack.predict("down", { unit: `u${i}`, request_id: `down-${i}` }, { authorization: "Bearer vk_down_key_0123456789abcdefghij" });
      expect(res.status).toBe(503);
    }
    await waitForCount(stack, "down", 6);
    const m = await stack.admin.ok("GET", "/v1/models/down/metrics");
    expect(m.series).toEqual([expect.objectContaining({ variant: "main", count: 6, errors: 6 })]);
    const rows = await lake("down");
    expect(rows.map((r) => [r.status, r.error])).toEqual(Array(6).fill(["error", "no_origin"]));
    await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *" });
    const alerts = await stack.admin.ok("GET", "/v1/alerts?model=down");
    expect(alerts.alerts.map((a) => [a.kind, a.subject])).toContainEqual(["guardrail", "main:error_rate"]);
  });
});

describe("redaction", () => {
  it("drops or hashes the listed features before the record leaves the gateway; equal values hash alike", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "private", task: "binary_classification" });
    const v = await stack.admin.uploadVersion("private", logisticRegressionModel([0.1, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    await stack.admin.ok("PUT", "/v1/models/private/deployment", { variants: [{ name: "main", version: v.version, weight: 10000 }] });
    await stack.admin.ok("POST", "/v1/keys", { name: "private", models: ["private"], key: "vk_private_key_0123456789abcdefg" });
    const settings = await stack.admin.ok("PUT", "/v1/models/private/log-settings", { redact: [{ feature: "plan", mode: "hash" }, { feature: "sessions_7d", mode: "drop" }] });
    expect(settings).toMatchObject({ redact: [{ feature: "plan", mode: "hash" }, { feature: "sessions_7d", mode: "drop" }], retention_days: 30 });
    const send = (i: number, plan: string) => stack.predict("private", { unit: `p${i}`, request_id: `private-${i}`, features: { plan, sessions_7d: 42, tenure_months: 3 } }, { authorization: "Bearer vk_private_key_0123456789abcdefg" });
    for (const [i, plan] of ["pro", "pro", "team"].entries()) expect((await send(i, plan)).status).toBe(200);
    await waitForCount(stack, "private", 3);
    const rows = (await lake("private")).sort((a, b) => a.request_id.localeCompare(b.request_id));
    for (const r of rows) {
      expect(r.features).not.toHaveProperty("sessions_7d");
      expect(r.features.plan).toMatch(/^sha256:[0-9a-f]{32}$/);
      expect(r.features.tenure_months).toBe(3);
      expect(r.redacted).toEqual(["plan", "sessions_7d"]);
    }
    expect(rows[0]!.features.plan).toBe(rows[1]!.features.plan);
    expect(rows[0]!.features.plan).not.toBe(rows[2]!.features.plan);
    expect(JSON.stringify(rows)).not.toMatch(/"pro"|"team"/);
  });
});

describe("lake retention", () => {
  it("deletes a model's partitions older than its retention on the cron, and keeps the rest", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "aging", task: "regression" });
    await stack.admin.ok("PUT", "/v1/models/aging/log-settings", { retention_days: 2 });
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    const day = 86_400_000;
    const record = (i: number, age: number): LogRecord => ({ request_id: `aging-${i}`, ts: Date.now() - age, model: "aging", version: 1, variant: "a", shadow: false, snapshot_version: 1, unit_hash: i, features: {}, outputs: { prediction: 1 }, latency_ms: { total: 1, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t" });
    await q.send({ records: [record(1, 3 * day), record(2, 3 * day + 60_000), record(3, 60_000)] });
    const all = { from: Date.now() - 5 * day, to: Date.now() + 60_000 };
    const bucket = await stack.mf.getR2Bucket("LOGS", "verge-control-plane");
    const dates = async () => [...new Set((await bucket.list({ prefix: "logs/aging/" })).objects.map((o) => o.key.split("/")[2]))].sort();
    await eventually(async () => ((await dates()).length === 2 ? true : undefined));
    expect((await lake("aging", all)).map((r) => r.request_id).sort()).toEqual(["aging-1", "aging-2", "aging-3"]);
    await (await stack.mf.getWorker("verge-control-plane")).scheduled({ cron: "* * * * *" });
    expect(await dates()).toEqual([new Date(Date.now() - 60_000).toISOString().slice(0, 10)]);
    expect((await lake("aging", all)).map((r) => r.request_id)).toEqual(["aging-3"]);
  });
});
