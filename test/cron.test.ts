// The control plane's cron: webhook deliveries are claimed before they are sent, so overlapping
// runs never send one twice, and each step runs whatever the others do. Real workerd, real D1,
// a real HTTP receiver.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { deployOneFeatureModel, eventually, testStack, type TestStack } from "./helpers.ts";
import { tick } from "./drain.ts";

let stack: TestStack;
/** Alert ids as the receiver got them; the first request is held open until released. */
const received: number[] = [];
let held: ServerResponse | undefined;
let holdNext = true;
/** Models of the alerts the receiver got, in order. */
const models: string[] = [];
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const alert = (JSON.parse(body) as { alert: { id: number; model: string } }).alert;
    received.push(alert.id);
    models.push(alert.model);
    if (holdNext) {
      holdNext = false;
      held = res;
      return;
    }
    res.writeHead(204).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  stack = await testStack();
});
afterAll(async () => {
  held?.destroy();
  await stack?.dispose();
  receiver.close();
});

describe("cron", () => {
  it("sends each due delivery exactly once when two runs overlap", async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const hook = await stack.admin.ok("POST", "/v1/webhooks", { url });
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const row = await db.prepare("INSERT INTO alerts (model, version, kind, subject, details) VALUES ('m', 1, 'drift', ?, '{}') RETURNING id").bind(`f${i}`).first<{ id: number }>();
      ids.push(row!.id);
      await db.prepare("INSERT INTO deliveries (webhook_id, alert_id, next_attempt_at) VALUES (?, ?, 0)").bind(hook.id, row!.id).run();
    }
    const now = Date.now();
    // Run A claims the batch and stalls on its first send (the receiver holds it open)…
    const first = tick(stack, now);
    await eventually(async () => (held ? true : undefined));
    // …while run B goes from start to end: it must find nothing of A's to send.
    await tick(stack, now + 60_000);
    held!.writeHead(204).end();
    await first;
    expect([...received].sort((a, b) => a - b)).toEqual(ids);
    const outbox = await stack.admin.ok("GET", `/v1/webhooks/${hook.id}/deliveries`);
    expect(outbox.deliveries.map((d) => [d.status, d.attempts])).toEqual(ids.map(() => ["delivered", 1]));
    // Nothing is left claimed, and a later run sends nothing again.
    expect((await db.prepare("SELECT count(*) AS n FROM deliveries WHERE claim_token IS NOT NULL").first<{ n: number }>())!.n).toBe(0);
    await tick(stack, now + 120_000);
    expect(received).toHaveLength(ids.length);
  });

  it("judges and alerts on every model, and still delivers, when one model's sweep throws", async () => {
    holdNext = false;
    const REFERENCE = { features: { x: { edges: [0, 1, 2], counts: [100, 400, 400, 100] } } };
    const deploy = (name: string) => deployOneFeatureModel(stack, name, REFERENCE);
    // Swept first (deployed first), and broken: its allocation row no longer parses as one.
    await deploy("broken");
    await deploy("drifting");
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    await db.prepare("UPDATE deployments SET allocation = '7' WHERE model_id = (SELECT id FROM models WHERE name = 'broken')").run();
    const now = Date.now();
    const records: LogRecord[] = Array.from({ length: 500 }, (_, i) => ({
      request_id: `d-${i}`, ts: now, model: "drifting", version: 1, variant: "main", shadow: false, snapshot_version: 1, unit_hash: 0,
      features: { x: 2.5 }, outputs: { probability: 0.6 }, latency_ms: { total: 2, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t",
    }));
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    for (let i = 0; i < records.length; i += 100) await q.sendBatch([{ body: { records: records.slice(i, i + 100) } }]);
    await eventually(async () => {
      const drift = (await stack.admin.ok("GET", "/v1/models/drifting/drift")) as { versions: { features: { samples: number }[] }[] };
      return drift.versions[0]?.features[0]?.samples === 500 ? true : undefined;
    }, 60_000);
    // The broken model fails its sweep (logged); the other is judged and its alert sent in the same run.
    await tick(stack, now);
    expect((await stack.admin.ok("GET", "/v1/alerts?model=drifting")).alerts.map((a) => a.kind)).toContain("drift");
    expect(models).toContain("drifting");
  });
});
