// Interleaving for ranking models: two variants score the candidates, the response interleaves
// them team-draft style, and feedback on a position is attributed to the variant that placed it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoExpected, demoMetadata } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, eventually, lakeRecords, testStack, type TestStack } from "../../test/helpers.ts";

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
/** Each variant's score of a candidate, from the models' plain math (current: the demo LR; challenger: W2). */
function scoreOf(variant: string, id: string): number {
  const c = candidates.find((x) => x.id === id)!.features;
  if (variant === "current") return demoExpected("lr", c);
  const x = [c.tenure_months, c.sessions_7d, 0, c.plan === "free" ? 1 : 0, c.plan === "pro" ? 1 : 0, c.plan === "team" ? 1 : 0];
  return 1 / (1 + Math.exp(-x.reduce((s, v, i) => s + v * W2[i]!, 0.1)));
}
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
      expect(r.score).toBeCloseTo(scoreOf(r.variant, r.id), 5);
    }
    expect(Math.abs(counts.current! - counts.challenger!)).toBeLessThanOrEqual(1);
    expect(body.ranking.map((r) => r.position)).toEqual(candidates.map((_, i) => i));
    // Positions follow the scores: whichever variant places position p puts there its own
    // highest-scored candidate among those not placed yet (team draft), so each variant's picks
    // fall in its descending order and the top position holds one variant's best candidate.
    const placed = new Set<string>();
    for (const r of body.ranking) {
      const best = candidates.filter((c) => !placed.has(c.id)).sort((a, b) => scoreOf(r.variant, b.id) - scoreOf(r.variant, a.id))[0]!;
      expect(r.id, `position ${r.position} (${r.variant})`).toBe(best.id);
      placed.add(r.id);
    }
    const topOf = (variant: string) => [...candidates].sort((a, b) => scoreOf(variant, b.id) - scoreOf(variant, a.id))[0]!.id;
    expect([topOf("current"), topOf("challenger")]).toContain(body.ranking[0]!.id);
    // The same unit sees the same interleaving.
    const again = (await (await stack.gateway("/v1/models/ranker/rank", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify({ unit: "u1", candidates }) })).json()) as Ranked;
    expect(again.ranking.map((r) => [r.id, r.variant])).toEqual(body.ranking.map((r) => [r.id, r.variant]));

    // Feedback on position 2 joins the logged prediction of the variant that placed it.
    await stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}` }, body: JSON.stringify({ request_id: "rank-1", position: 2, label: 1 }) });
    const joined = await eventually(async () => {
      const rows = await lakeRecords(stack, "ranker", { labels: "only" });
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
