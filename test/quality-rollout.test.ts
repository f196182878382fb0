// A staged rollout judged on labelled quality: the promotion rule's `thresholds` compare the
// candidate's accuracy with the baseline's over the step's labelled predictions (feedback joined in
// the rollup shards), so a better candidate advances and a worse one holds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoMetadata } from "../scripts/lib/demo.ts";
import { eventually, lakeRecords, testStack, type TestStack } from "./helpers.ts";

let stack: TestStack;
const KEY = "vk_quality_key_0123456789abcdefg";

beforeAll(async () => {
  stack = await testStack();
  await stack.admin.ok("POST", "/v1/models", { name: "qual", task: "binary_classification" });
  for (let i = 1; i <= 3; i++) await stack.admin.uploadVersion("qual", logisticRegressionModel([0.05 * i, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
  await stack.admin.ok("PUT", "/v1/models/qual/aliases/production", { version: 1 });
  await stack.admin.ok("PUT", "/v1/models/qual/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
  await stack.admin.ok("POST", "/v1/keys", { name: "q", models: ["qual"], key: KEY });
  // Guardrails stay out of the way; the rule asks the candidate to be 0.2 more accurate.
  await stack.admin.ok("PUT", "/v1/models/qual/promotion-rule", { min_samples: 20, min_duration_s: 0, thresholds: [{ metric: "accuracy", min_delta: 0.2 }], guardrails: { min_samples: 100_000 } });
});
afterAll(() => stack?.dispose());

type Decision = { decision: { action: string; reasons: string[]; applied: string }; rollout: { weight_bp: number; status: string } };

/** Serves 120 units and labels each answer: right for `right` variants, wrong for the others. */
async function traffic(tag: string, right: "candidate" | "baseline") {
  const labels: { request_id: string; label: number }[] = [];
  for (let i = 0; i < 120; i += 20) {
    const replies = await Promise.all(
      Array.from({ length: 20 }, async (_, j) => {
        const res = await stack.predict("qual", { unit: `${tag}-${i + j}`, request_id: `${tag}-${i + j}`, features: { tenure_months: 10 } }, { authorization: `Bearer ${KEY}` });
        return (await res.json()) as { request_id: string; variant: string; outputs: { probability: number } };
      }),
    );
    for (const r of replies) {
      const predicted = r.outputs.probability >= 0.5 ? 1 : 0;
      labels.push({ request_id: r.request_id, label: r.variant === right ? predicted : 1 - predicted });
    }
  }
  const res = await stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify({ items: labels }) });
  expect(res.status).toBe(202);
  // Wait until every label joined its prediction (labels and quality sums are written together).
  await eventually(async () => {
    const joined = (await lakeRecords(stack, "qual", { labels: "only" })).filter((r) => r.request_id.startsWith(`${tag}-`)).length;
    return joined === labels.length ? true : undefined;
  }, 60_000);
}

const evaluate = () => stack.admin.ok("POST", "/v1/models/qual/rollouts/evaluate");

describe("a rollout judged on quality", () => {
  it("holds until quality is measured, then advances a candidate that beats the baseline's accuracy", async () => {
    await stack.admin.ok("POST", "/v1/models/qual/promote", { version: 2, plan: { steps: [5000, 10000], interval_s: 1 } });
    expect((await evaluate()).decision.reasons).toContain("accuracy: not measured yet");
    await traffic("good", "candidate");
    const step = await evaluate();
    expect(step.decision).toMatchObject({ action: "advance", reasons: ["all checks passed"] });
    expect(step.rollout.weight_bp).toBe(10000);
    await stack.admin.ok("POST", "/v1/models/qual/rollouts/cancel");
  });

  it("holds a candidate whose accuracy falls short, saying by how much", async () => {
    // A fresh baseline version, so this step's window holds only this test's traffic.
    await stack.admin.ok("PUT", "/v1/models/qual/aliases/production", { version: 2 });
    await stack.admin.ok("POST", "/v1/models/qual/promote", { version: 3, plan: { steps: [5000, 10000], interval_s: 1 } });
    await traffic("bad", "baseline");
    const held = await evaluate();
    expect(held.decision.action).toBe("hold");
    expect(held.decision.reasons).toEqual([expect.stringMatching(/^accuracy: Δ -1\.0000 < 0\.2000$/)]);
    expect(held.rollout.weight_bp).toBe(5000);
  });
});
