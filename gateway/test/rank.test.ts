// Interleaving for ranking models: two variants score the candidates, the response interleaves
// them team-draft style, and feedback on a position is attributed to the variant that placed it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoExpected, demoMetadata } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, eventually, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
const W2 = [-0.04, -0.3, 0.2, 0.5, 0, -0.9];
beforeAll(async () => {
  stack = await testStack();
  await stack.admin.ok("POST", "/v1/models", { name: "ranker", task: "binary_classification" });
  const { demoArtifacts } = await import("../../scripts/lib/demo.ts");
  await stack.admin.uploadVersion("ranker", demoArtifacts().lr, demoMetadata("lr"));
  await stack.admin.uploadVersion("ranker", logisticRegressionModel(W2, 0.1), demoMetadata("lr"));
  await stack.admin.ok("PUT", "/v1/models/ranker/deployment", { variants: [{ name: "current", version: 1, weight: 5000 }, { name: "challenger", version: 2, weight: 5000 }] });
  await stack.admin.ok("POST", "/v1/keys", { name: "r", models: ["ranker"], key: CLIENT_KEY });
});
afterAll(() => stack?.dispose());

const candidates = Array.from({ length: 8 }, (_, i) => ({ id: `item-${i}`, features: { tenure_months: i * 5, sessions_7d: 8 - i, plan: ["free", "pro", "team"][i % 3]! } }));
type Ranked = { request_id: string; ranking: { position: number; id: string; variant: string; version: number; score: number }[] };

describe("rank", () => {
  it("interleaves both variants' rankings, each position labelled with its variant and score", async () => {
    const res = await stack.gateway("/v1/models/ranker/rank", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify({ unit: "u1", request_id: "rank-1", candidates }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Ranked;
    expect(body.ranking.map((r) => r.id).sort()).toEqual(candidates.map((c) => c.id).sort());
    const counts = { current: 0, challenger: 0 } as Record<string, number>;
    for (const r of body.ranking) {
      counts[r.variant]!++;
      const c = candidates.find((x) => x.id === r.id)!;
      const expected = r.variant === "current" ? demoExpected("lr", c.features) : 1 / (1 + Math.exp(-(Array.from([c.features.tenure_months, c.features.sessions_7d, 0, c.features.plan === "free" ? 1 : 0, c.features.plan === "pro" ? 1 : 0, c.features.plan === "team" ? 1 : 0]).reduce((s, x, i) => s + x * W2[i]!, 0.1))));
      expect(r.score).toBeCloseTo(expected, 5);
    }
    expect(Math.abs(counts.current! - counts.challenger!)).toBeLessThanOrEqual(1);
    // The same unit sees the same interleaving.
    const again = (await (await stack.gateway("/v1/models/ranker/rank", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify({ unit: "u1", candidates }) })).json()) as Ranked;
    expect(again.ranking.map((r) => [r.id, r.variant])).toEqual(body.ranking.map((r) => [r.id, r.variant]));

    // Feedback on position 2 joins the logged prediction of the variant that placed it.
    await stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify({ request_id: "rank-1", position: 2, label: 1 }) });
    const joined = await eventually(async () => {
      const res = await stack.admin.call<string>("GET", "/v1/models/ranker/logs?labels=only");
      const rows = (res.body ?? "").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { request_id: string; variant: string; label: number });
      return rows.length ? rows : undefined;
    });
    expect(joined.map((r) => [r.request_id, r.variant, r.label])).toEqual([["rank-1#2", body.ranking[2]!.variant, 1]]);
  });

  it("refuses duplicate candidate ids and empty lists", async () => {
    for (const bad of [{ candidates: [] }, { candidates: [{ id: "a" }, { id: "a" }] }]) {
      const res = await stack.gateway("/v1/models/ranker/rank", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify(bad) });
      expect(res.status).toBe(400);
    }
  });
});
