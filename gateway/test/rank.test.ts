// Interleaving for ranking models: two variants score the candidates, the response interleaves
// them team-draft style, and feedback on a position is attributed to the variant that placed it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import type { LogRecord } from "@verge/shared";
import { demoExpected, demoMetadata } from "../../scripts/lib/demo.ts";
import { artifactKeyOf, CLIENT_KEY, errorOf, eventually, lakeRecords, testStack, type TestStack } from "../../test/helpers.ts";

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

  it("logs standard records: the model's own outputs and features per position, the key and the latency", async () => {
    const res = await rank("ranker", { unit: "u-std", request_id: "rank-std", candidates });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Ranked;
    const records = await eventually(async () => {
      const rows = (await lakeRecords(stack, "ranker")).filter((r) => r.request_id.startsWith("rank-std#"));
      return rows.length === candidates.length ? rows : undefined;
    });
    for (const r of body.ranking) {
      const rec = records.find((x) => x.request_id === `rank-std#${r.position}`)!;
      const cand = candidates.find((c) => c.id === r.id)!;
      expect(rec).toMatchObject({ variant: r.variant, version: r.version, shadow: false, status: "ok", key_id: expect.any(String) });
      // The model's output as predict logs it (not a ranking-only field), and the candidate's features.
      expect((rec.outputs as { probability: number }).probability).toBeCloseTo(r.score, 5);
      expect(rec.features).toMatchObject(cand.features);
      expect(rec.latency_ms.total).toBeGreaterThanOrEqual(rec.latency_ms.infer);
    }
  });
});

const MODEL_KEY = "vk_rank_more_key_0123456789abcdef";
const rank = (model: string, body: unknown, key = CLIENT_KEY) => stack.gateway(`/v1/models/${model}/rank`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

describe("rank is served like any prediction", () => {
  beforeAll(async () => {
    for (const name of ["rank-fb", "rank-ovf", "rank-sh"]) await stack.admin.ok("POST", "/v1/models", { name, task: "binary_classification" });
    await stack.admin.ok("POST", "/v1/keys", { name: "more", models: ["rank-fb", "rank-ovf", "rank-sh"], key: MODEL_KEY });
  });

  it("falls back to the deployment's edge fallback when a team's variant cannot serve", async () => {
    // Weights no other test uses, so no isolate holds a session for this artifact yet.
    const bad = await stack.admin.uploadVersion("rank-fb", logisticRegressionModel([2, 1, 3, 1, 5, 9], 0.25), demoMetadata("lr"));
    const good = await stack.admin.uploadVersion("rank-fb", logisticRegressionModel(W2, 0.1), demoMetadata("lr"));
    const safe = await stack.admin.uploadVersion("rank-fb", logisticRegressionModel([0.01, 0.02, 0, 0, 0, 0], 0), demoMetadata("lr"));
    const r2 = await stack.mf.getR2Bucket("ARTIFACTS", "verge-control-plane");
    await r2.put(await artifactKeyOf(stack, bad.sha256), logisticRegressionModel([9, 9, 9, 9, 9, 9], 0));
    await stack.admin.ok("PUT", "/v1/models/rank-fb/deployment", {
      variants: [{ name: "broken", version: bad.version, weight: 5000 }, { name: "other", version: good.version, weight: 5000 }, { name: "safe", version: safe.version, weight: 0 }],
      fallback: "safe",
    });
    const res = await rank("rank-fb", { unit: "u-fb", request_id: "rank-fb-1", candidates }, MODEL_KEY);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Ranked & { variants: { name: string; version: number; fallback?: { from: string; reason: string } }[] };
    expect(body.variants).toEqual([
      { name: "safe", version: safe.version, fallback: { from: "broken", reason: expect.stringMatching(/sha256 mismatch/) } },
      { name: "other", version: good.version },
    ]);
    expect(new Set(body.ranking.map((r) => r.variant))).toEqual(new Set(["safe", "other"]));
    // The failed attempt is logged as an error of the broken version; the positions as the fallback's.
    const records = await eventually(async () => {
      const rows = (await lakeRecords(stack, "rank-fb")).filter((r) => r.request_id.startsWith("rank-fb-1"));
      return rows.length === 2 * candidates.length ? rows : undefined;
    });
    // One failed record per candidate, as for a failed multi-instance predict.
    const failed = records.filter((r) => r.status === "error");
    expect(failed).toHaveLength(candidates.length);
    expect(new Set(failed.map((r) => `${r.version}:${r.variant}`))).toEqual(new Set([`${bad.version}:broken`]));
    for (const r of body.ranking) expect(records.find((x) => x.request_id === `rank-fb-1#${r.position}` && x.status === "ok")).toMatchObject({ variant: r.variant, version: r.version });
  });

  it("refuses candidates that make a model's output non-finite, and logs the attempt as an error", async () => {
    const big = await stack.admin.uploadVersion("rank-ovf", logisticRegressionModel([10, -10, 0, 0, 0, 0], 0), demoMetadata("lr"));
    await stack.admin.ok("PUT", "/v1/models/rank-ovf/deployment", { variants: [{ name: "main", version: big.version, weight: 10000 }] });
    const res = await rank("rank-ovf", { request_id: "rank-ovf-1", candidates: [{ id: "a", features: { tenure_months: 3e38, sessions_7d: 3e38 } }, { id: "b", features: { tenure_months: 1 } }] }, MODEL_KEY);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/non-finite/);
    const records = await eventually(async () => {
      const rows = (await lakeRecords(stack, "rank-ovf")).filter((r) => r.request_id.startsWith("rank-ovf-1"));
      return rows.length ? rows : undefined;
    });
    expect(records.every((r) => r.status === "error" && r.error === "non_finite")).toBe(true);
  });

  it("runs the deployment's sampled shadows once per ranking, each candidate logged under its position", async () => {
    const a = await stack.admin.uploadVersion("rank-sh", logisticRegressionModel([0.1, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    const b = await stack.admin.uploadVersion("rank-sh", logisticRegressionModel([0.2, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    const s = await stack.admin.uploadVersion("rank-sh", logisticRegressionModel([-0.3, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    await stack.admin.ok("PUT", "/v1/models/rank-sh/deployment", { variants: [{ name: "a", version: a.version, weight: 5000 }, { name: "b", version: b.version, weight: 5000 }], shadows: [{ version: s.version, rate: 10000 }] });
    const res = await rank("rank-sh", { unit: "u-sh", request_id: "rank-sh-1", candidates }, MODEL_KEY);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Ranked;
    const shadows = await eventually(async () => {
      const rows = (await lakeRecords(stack, "rank-sh")).filter((r) => r.shadow);
      return rows.length >= candidates.length ? rows : undefined;
    });
    expect(shadows).toHaveLength(candidates.length);
    for (const r of body.ranking) {
      const rec = shadows.find((x) => x.request_id === `rank-sh-1#${r.position}`) as LogRecord;
      const tenure = candidates.find((c) => c.id === r.id)!.features.tenure_months;
      expect(rec.version).toBe(s.version);
      expect((rec.outputs as { probability: number }).probability).toBeCloseTo(1 / (1 + Math.exp(0.3 * tenure)), 5);
    }
  });
});
