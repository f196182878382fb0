// A concept-drift alert commits with the ADWIN state that raised it: when raising it fails, the
// state and cursor stay where they were, and the next label's pass raises it. Real workerd, D1,
// queues and rollup shards; the failure is a trigger on the alerts table.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { eventually, testStack, type TestStack } from "./helpers.ts";
import { countedTotal, settledAt } from "./drain.ts";

let stack: TestStack;
const lines: string[] = [];
beforeAll(async () => {
  stack = await testStack({ onLogLine: (line) => void lines.push(line) });
});
afterAll(() => stack?.dispose());

describe("concept drift alert", () => {
  it("is never lost: a failed raise leaves the detector unmoved, and the next pass raises it", { timeout: 240_000 }, async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "concept", task: "binary_classification" });
    const { version } = await stack.admin.uploadVersion("concept", logisticRegressionModel([0.1], 0), {
      runtime: "edge",
      inputs: [{ name: "input", shape: [-1, 1] }],
      outputs: [{ name: "probability", shape: [-1, 1] }],
      feature_spec: { features: [{ name: "x", type: "number", default: 0 }] },
    });
    await stack.admin.ok("PUT", "/v1/models/concept/deployment", { variants: [{ name: "main", weight: 10000, version }] });
    const N = 1200;
    const records: LogRecord[] = Array.from({ length: N + 1 }, (_, i) => ({
      request_id: `c-${i}`, ts: Date.now(), model: "concept", version, variant: "main", shadow: false, snapshot_version: 1, unit_hash: i,
      features: { x: 1 }, outputs: { probability: 0.8 }, latency_ms: { total: 2, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t",
    }));
    const logs = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    for (let i = 0; i < records.length; i += 100) await logs.sendBatch([{ body: { records: records.slice(i, i + 100) } }]);
    expect(await settledAt(stack, () => countedTotal(stack, "concept"), N + 1)).toBe(N + 1);

    // Raising a concept-drift alert fails until the trigger is dropped.
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    await db.prepare("CREATE TRIGGER refuse_concept_alerts BEFORE INSERT ON alerts WHEN NEW.kind = 'concept_drift' BEGIN SELECT RAISE(ABORT, 'refused concept alert'); END").run();
    // Right 95% of the time at first, then half the time: ADWIN cuts, and raises the alert.
    let s = 3;
    const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const feedback = await stack.mf.getQueueProducer<unknown>("FEEDBACK", "verge-gateway");
    const labels = records.slice(0, N).map((r, i) => ({ body: { request_id: r.request_id, label: u() < (i < 800 ? 0.95 : 0.5) ? 1 : 0, ts: Date.now() + i, key_id: "k" } }));
    for (let i = 0; i < N; i += 100) await feedback.sendBatch(labels.slice(i, i + 100));
    await eventually(async () => (lines.some((l) => l.includes("refused concept alert")) ? true : undefined), 120_000);
    const alerts = async () => (await stack.admin.ok("GET", "/v1/alerts?model=concept")).alerts.filter((a) => a.kind === "concept_drift");
    expect(await alerts()).toEqual([]);

    await db.prepare("DROP TRIGGER refuse_concept_alerts").run();
    type Concept = { labels: number | null } | null;
    const detector = async (): Promise<Concept> => (await stack.admin.ok("GET", "/v1/models/concept/drift")).versions.find((v) => v.version === version)!.concept;
    // One more label: its pass feeds everything from the cursor, the jump included.
    await feedback.send({ request_id: `c-${N}`, label: 1, ts: Date.now() + N, key_id: "k" });
    await eventually(async () => (((await detector())?.labels ?? 0) > N ? true : undefined), 120_000);
    expect((await detector())!.labels).toBe(N + 1);
    const raised = await alerts();
    expect(raised).toHaveLength(1);
    expect((raised[0]!.details as { error_rate_after: number; error_rate_before: number }).error_rate_after).toBeGreaterThan((raised[0]!.details as { error_rate_before: number }).error_rate_before);
  });
});
