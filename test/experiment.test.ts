// The experiment report end to end: predictions through the gateway, labels through feedback,
// joined by request id in the control plane.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { seedDemo } from "../scripts/lib/demo.ts";
import { CLIENT_KEY, eventually, testStack, type TestStack } from "./helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
});
afterAll(() => stack?.dispose());

type Report = {
  variants: { name: string; samples: number; labels: { n: number; positive_rate: number | null; accuracy: number | null; auc: number | null } }[];
  sample_ratio_mismatch: { mismatch: boolean; p_value: number };
  sequential_test: { comparisons: { variant: string; positive_rate: { p_value: number; effect: number } | null; significant: boolean }[] };
  sample_size: { per_arm: number | null };
};

describe("experiment report", () => {
  it("joins labels to variants, finds a real difference, and sees no sample-ratio mismatch", async () => {
    let s = 7;
    const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const items: { request_id: string; label: number }[] = [];
    for (let i = 0; i < 800; i += 50) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, async (_, j) => (await (await stack.predict("demo", { unit: `user-${i + j}`, request_id: `req-${i + j}` })).json()) as { request_id: string; variant: string }),
      );
      // Treatment converts far more often than control.
      for (const r of replies) items.push({ request_id: r.request_id, label: uniform() < (r.variant === "treatment" ? 0.6 : 0.2) ? 1 : 0 });
    }
    for (let i = 0; i < items.length; i += 400) {
      const res = await stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify({ items: items.slice(i, i + 400) }) });
      expect(res.status).toBe(202);
    }
    const report = await eventually(async () => {
      const r = await stack.admin.ok("GET", "/v1/models/demo/experiment");
      return r.variants.reduce((sum, v) => sum + v.labels.n, 0) === 800 ? r : undefined;
    }, 60_000);
    const [control, treatment] = report.variants;
    expect(control!.name).toBe("control");
    expect(control!.samples + treatment!.samples).toBe(800);
    expect(control!.labels.positive_rate!).toBeGreaterThan(0.13);
    expect(control!.labels.positive_rate!).toBeLessThan(0.27);
    expect(treatment!.labels.positive_rate!).toBeGreaterThan(0.52);
    expect(report.sample_ratio_mismatch.mismatch).toBe(false);
    const cmp = report.sequential_test.comparisons[0]!;
    expect(cmp.variant).toBe("treatment");
    expect(cmp.positive_rate!.p_value).toBeLessThan(0.05);
    expect(cmp.positive_rate!.effect).toBeGreaterThan(0.25);
    expect(cmp.significant).toBe(true);
    expect(report.sample_size.per_arm).toBeGreaterThan(0);
  });

  it("flags a sample-ratio mismatch when assignment does not follow the allocation", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "skewed", task: "binary_classification" });
    const { demoArtifacts, demoMetadata } = await import("../scripts/lib/demo.ts");
    const v = await stack.admin.uploadVersion("skewed", demoArtifacts().lr, demoMetadata("lr"));
    await stack.admin.ok("PUT", "/v1/models/skewed/deployment", { variants: [{ name: "a", version: v.version, weight: 5000 }, { name: "b", version: v.version, weight: 5000 }] });
    const q = await stack.mf.getQueueProducer<LogRecord>("PREDICTION_LOGS", "verge-gateway");
    const record = (i: number, variant: string): LogRecord => ({ request_id: `s-${i}`, ts: Date.now(), model: "skewed", version: v.version, variant, shadow: false, snapshot_version: 1, unit_hash: i, features: {}, outputs: { probability: 0.5 }, latency_ms: { total: 1, features: 0, infer: 1 }, status: "ok", degraded: [], colo: "t" });
    const records = Array.from({ length: 1000 }, (_, i) => record(i, i < 560 ? "a" : "b"));
    for (let i = 0; i < records.length; i += 100) await q.sendBatch(records.slice(i, i + 100).map((body) => ({ body })));
    const report = await eventually(async () => {
      const r = await stack.admin.ok("GET", "/v1/models/skewed/experiment");
      return r.variants.reduce((sum, x) => sum + x.samples, 0) === 1000 ? r : undefined;
    });
    expect(report.sample_ratio_mismatch.mismatch).toBe(true);
  });
});
