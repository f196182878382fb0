// The one-time move of monitoring data out of D1, on a state folder made by c50bed9 (the last
// version that kept rollups, identities and labels in D1; see scripts/fixtures/make-legacy-state.ts):
// after the move every report answers as that version did, D1 keeps no per-prediction rows, the
// moved identities still deduplicate, and labels without a prediction are kept as dead letters.
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { ROOT } from "../scripts/lib/build.ts";
import { migrateMonitoring } from "../scripts/migrate-monitoring.ts";
import { d1Rows, testStack, waitConsumed, type TestStack } from "./helpers.ts";

const FIXTURE = join(ROOT, "test/fixtures/state-c50bed9");
const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8")) as {
  generated_at: string;
  window: { from: number; to: number };
  tables: Record<string, number>;
  metrics: { demo: unknown; watched: unknown };
  drift: unknown;
  experiment: unknown;
};
const range = `from=${expected.window.from}&to=${expected.window.to}`;

/**
 * The recorded answers, with one intended change since: latency quantiles are capped at the
 * group's exact max (a bucket's upper edge used to read above it).
 */
function capped<T>(value: T): T {
  if (Array.isArray(value)) return value.map(capped) as T;
  if (value === null || typeof value !== "object") return value;
  const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capped(v)])) as Record<string, unknown>;
  if (typeof out.max === "number") for (const q of ["p50", "p95", "p99"]) if (typeof out[q] === "number") out[q] = Math.min(out[q], out.max);
  return out as T;
}
expected.metrics = capped(expected.metrics);
{
  // An experiment variant's latency is capped at the max of that variant's primaries in the metrics.
  type Row = { variant: string; shadow: boolean; latency_ms: { max: number } };
  type Variant = { name: string; latency_ms: Record<string, number | null> };
  const rows = (expected.metrics.demo as { series: Row[] }).series;
  for (const v of (expected.experiment as { variants: Variant[] }).variants) {
    const max = Math.max(...rows.filter((r) => r.variant === v.name && !r.shadow).map((r) => r.latency_ms.max));
    for (const q of ["p50", "p95", "p99"]) if (typeof v.latency_ms[q] === "number") v.latency_ms[q] = Math.min(v.latency_ms[q], max);
  }
}
const LEGACY = ["ingested", "rollups", "rollup_latency", "rollup_bins", "feedback"];

let dir: string;
let stack: TestStack;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-migration-"));
  cpSync(FIXTURE, dir, { recursive: true });
  // Starting applies this version's D1 migrations to the old database, as a deploy would.
  stack = await testStack({ persistTo: dir });
});
afterAll(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A recorded metrics answer as this version gives it: the same series, plus input issues (none were recorded then). */
const asNow = (metrics: unknown) => ({ ...(metrics as object), input_issues: [] });

describe("moving monitoring data out of D1", () => {
  it("moves every rollup, identity and label into the shards; reports answer as before; D1 keeps none", async () => {
    const before = await d1Rows(stack);
    for (const t of LEGACY) expect(before[t], t).toBe(expected.tables[t]);
    const report = await migrateMonitoring(stack.admin);
    expect(report.moved).toEqual({ rollups: 204, rollup_latency: 232, rollup_bins: 413, ingested: 320, unmatched_labels: 4 });

    const after = await d1Rows(stack);
    for (const t of LEGACY) expect(after[t], t).toBe(0);
    expect(await stack.admin.ok("GET", `/v1/models/demo/metrics?${range}`)).toEqual(asNow(expected.metrics.demo));
    expect(await stack.admin.ok("GET", `/v1/models/watched/metrics?${range}&step=day`)).toEqual(asNow(expected.metrics.watched));
    // Reports answer as that version did; this version's add fields (drift: each version's concept
    // detector; experiment: mae, rmse and conflicting labels), so those two match what was there.
    expect(await stack.admin.ok("GET", `/v1/models/watched/drift?${range}`)).toMatchObject(expected.drift as object);
    expect(await stack.admin.ok("GET", `/v1/models/demo/experiment?${range}`)).toMatchObject(expected.experiment as object);
  });

  it("keeps the labels that had no prediction as feedback dead letters, ready to re-drive", async () => {
    const dead = await stack.admin.ok("GET", "/v1/dead-letters?queue=feedback");
    const moved = dead.dead_letters.find((d) => /one-time move/.test(d.reason))!;
    expect(moved.messages).toBe(4);
    const stored = (await stack.admin.api.getDeadLetter({ params: { id: moved.id } })) as { bodies: { request_id: string; label: number }[] };
    expect(stored.bodies.map((b) => b.request_id).sort()).toEqual(["ghost-0", "ghost-1", "ghost-2", "ghost-3"]);
  });

  it("still recognises a moved record when it is delivered again, and a second run moves nothing", async () => {
    const generated = Date.parse(expected.generated_at);
    // Exactly as the old gateway's queue carried it (see make-legacy-state.ts).
    const i = 5;
    const again: LogRecord = { request_id: `w-0-${i}`, ts: generated - i * 61_000, model: "watched", version: 1, variant: "main", shadow: false, snapshot_version: 1, unit_hash: i, features: { x: (i % 7) * 0.5 }, outputs: { probability: (i % 10) / 10 }, latency_ms: { total: 1 + (i % 13), features: 0, infer: 1 }, status: "ok", degraded: [], colo: "legacy" };
    const q = await stack.mf.getQueueProducer<unknown>("PREDICTION_LOGS", "verge-gateway");
    await q.send({ records: [again] });
    const [line] = await waitConsumed(stack, "verge-prediction-logs", 1);
    expect(line).toMatchObject({ counted: 0, duplicates: 1 });
    expect(await stack.admin.ok("GET", `/v1/models/watched/metrics?${range}&step=day`)).toEqual(asNow(expected.metrics.watched));
    expect((await migrateMonitoring(stack.admin)).moved).toEqual({ rollups: 0, rollup_latency: 0, rollup_bins: 0, ingested: 0, unmatched_labels: 0 });
  });
});
