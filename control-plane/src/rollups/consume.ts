// Folds prediction log records into per-minute rollups, counting each record exactly once
// however often the queue delivers it.
import { and, eq, sql } from "drizzle-orm";
import { logRecordKey, type LogRecord, type VersionMetadata } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { ingested, models, rollupBins, rollupLatency, rollups, versions } from "../db/schema.ts";
import { addRecord, binPlan, emptyFold, foldRows, type BinPlan } from "./fold.ts";
import { parseLogRecord } from "./record-check.ts";

export interface FoldResult {
  /** Records that parsed (already-counted redeliveries included). */
  accepted: number;
  /** Records counted by this fold (not seen before). */
  counted: number;
  /** Records that did not match the schema: acknowledged and dropped, never retried forever. */
  rejected: number;
}

/**
 * Exactly once, optimistically: read which of the batch's records are already counted, add up
 * the new ones here, then in one atomic D1 batch — guarded by the primary key of `ingested`, so it
 * fails whole if any of these keys exists by then — record their keys and add the sums to the rollups. A concurrent or earlier fold of the same
 * records makes the guard fail and the whole batch retry, when they read as already counted;
 * a crash before commit leaves nothing, and redelivery then counts them.
 */
export async function foldRecords(d: Db, bodies: readonly unknown[], batchId: string): Promise<FoldResult> {
  const byKey = new Map<string, LogRecord>();
  let rejected = 0;
  for (const body of bodies) {
    const record = parseLogRecord(body);
    if (record) byKey.set(logRecordKey(record), record);
    else rejected++;
  }
  const accepted = bodies.length - rejected;
  if (byKey.size === 0) return { accepted, counted: 0, rejected };
  const keys = [...byKey.keys()];
  const seen = await d.all<{ key: string }>(sql`SELECT key FROM ${ingested} WHERE key IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`);
  for (const { key } of seen) byKey.delete(key);
  if (byKey.size === 0) return { accepted, counted: 0, rejected };
  const planOf = await loadPlans(d, byKey.values());
  const fold = emptyFold();
  for (const [key, r] of byKey) addRecord(fold, key, r, planOf);
  const { counts, latency, bins } = foldRows(fold);

  // The guard is `ingested.key`'s primary key: if any of these records was counted meanwhile, the
  // first insert fails and the whole batch (one transaction) with it. Rows travel as JSON arrays,
  // not objects: shorter to write and to read back column by column.
  await d.batch([
    ...chunks(fold.ingested).map((rows) => d.insert(ingested).select(sql`
      SELECT j.value ->> 0, ${batchId}, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5,
             j.value ->> 6, j.value ->> 7, j.value ->> 8, j.value ->> 9, j.value ->> 10
      FROM json_each(${JSON.stringify(rows)}) AS j`)),
    ...chunks(counts).map((rows) => d.insert(rollups).select(sql`
      SELECT j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant', j.value ->> '$.shadow',
             j.value ->> '$.count', j.value ->> '$.errors', j.value ->> '$.latencySumMs', j.value ->> '$.latencyMaxMs'
      FROM json_each(${JSON.stringify(rows)}) AS j WHERE true
      ON CONFLICT (model, version, variant, shadow, minute) DO UPDATE SET
        count = ${rollups.count} + excluded.count,
        errors = ${rollups.errors} + excluded.errors,
        latency_sum_ms = ${rollups.latencySumMs} + excluded.latency_sum_ms,
        latency_max_ms = max(${rollups.latencyMaxMs}, excluded.latency_max_ms)`)),
    ...chunks(latency).map((rows) => d.insert(rollupLatency).select(sql`
      SELECT j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant', j.value ->> '$.shadow',
             j.value ->> '$.bucket', j.value ->> '$.count'
      FROM json_each(${JSON.stringify(rows)}) AS j WHERE true
      ON CONFLICT (model, version, variant, shadow, minute, bucket) DO UPDATE SET count = ${rollupLatency.count} + excluded.count`)),
    ...chunks(bins).map((rows) => d.insert(rollupBins).select(sql`
      SELECT j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant', j.value ->> '$.shadow',
             j.value ->> '$.feature', j.value ->> '$.bin', j.value ->> '$.count'
      FROM json_each(${JSON.stringify(rows)}) AS j WHERE true
      ON CONFLICT (model, version, feature, minute, variant, shadow, bin) DO UPDATE SET count = ${rollupBins.count} + excluded.count`)),
  ] as unknown as Parameters<Db["batch"]>[0]);
  return { accepted, counted: fold.ingested.length, rejected };
}

/** Rows per statement: each chunk is one JSON parameter, well inside D1's per-value size limit. */
const ROWS_PER_STATEMENT = 1000;

function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) out.push(rows.slice(i, i + ROWS_PER_STATEMENT));
  return out;
}

/** Versions are immutable, so their bin plans are cached for the isolate's life. */
const planCache = new Map<string, BinPlan | null>();
const planKey = (model: string, version: number) => `${model}@${version}`;

/** Loads the plans of the records' versions; the returned lookup gives null for a version without a reference. */
async function loadPlans(d: Db, records: Iterable<LogRecord>): Promise<(model: string, version: number) => BinPlan | null> {
  const wanted = new Map<string, Set<number>>();
  for (const r of records) {
    const list = wanted.get(r.model) ?? new Set<number>();
    list.add(r.version);
    wanted.set(r.model, list);
  }
  for (const [model, list] of wanted) {
    for (const version of list) {
      if (planCache.has(planKey(model, version))) continue;
      const row = await d
        .select({ metadata: versions.metadata })
        .from(versions)
        .innerJoin(models, eq(models.id, versions.modelId))
        .where(and(eq(models.name, model), eq(versions.version, version)))
        .get();
      // An unknown version is not cached: it may be registered a moment later.
      if (!row) continue;
      const reference = (row.metadata as VersionMetadata).reference;
      planCache.set(planKey(model, version), reference ? binPlan(reference) : null);
    }
  }
  return (model, version) => planCache.get(planKey(model, version)) ?? null;
}
