// Folds prediction log records into per-minute rollups, counting each record exactly once
// however often the queue delivers it.
import { and, eq, sql } from "drizzle-orm";
import { binOf, latencyBucket, logRecordKey, logRecordSchema, type DriftReference, type LogRecord, type VersionMetadata } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { ingested, models, rollupBins, rollupLatency, rollups, versions } from "../db/schema.ts";

export interface FoldResult {
  /** Records that parsed (already-counted redeliveries included). */
  accepted: number;
  /** Records that did not match the schema: acknowledged and dropped, never retried forever. */
  rejected: number;
}

/**
 * In one atomic batch: insert each record's identity (a redelivered record's insert is ignored,
 * so its row keeps the batch id of its first delivery), then add exactly the rows this batch
 * inserted to the rollups. A crash before commit leaves nothing; redelivery then counts it.
 */
export async function foldRecords(d: Db, bodies: readonly unknown[], batchId: string): Promise<FoldResult> {
  const records: LogRecord[] = [];
  let rejected = 0;
  for (const body of bodies) {
    const parsed = logRecordSchema.safeParse(body);
    if (parsed.success) records.push(parsed.data);
    else rejected++;
  }
  if (records.length === 0) return { accepted: 0, rejected };
  const references = await loadReferences(d, records);

  const rows = records.map((r) => ({
    key: logRecordKey(r),
    minute: Math.floor(r.ts / 60_000),
    model: r.model,
    version: r.version,
    variant: r.variant,
    shadow: r.shadow ? 1 : 0,
    error: r.status === "ok" ? 0 : 1,
    latencyMs: r.latency_ms.total,
    latencyBucket: latencyBucket(r.latency_ms.total),
    bins: JSON.stringify(binsOf(r, references.get(`${r.model}@${r.version}`))),
    requestId: r.request_id,
    score: scoreOf(r),
  }));
  // All rows go in as one JSON parameter (D1 binds at most 100 parameters per statement, and one
  // statement is far cheaper than fifteen).
  const insert = d.insert(ingested).select(sql`
    SELECT j.value ->> '$.key', ${batchId}, j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant',
           j.value ->> '$.shadow', j.value ->> '$.error', j.value ->> '$.latencyMs', j.value ->> '$.latencyBucket', j.value ->> '$.bins',
           j.value ->> '$.requestId', j.value ->> '$.score'
    FROM json_each(${JSON.stringify(rows)}) AS j WHERE true
    ON CONFLICT (key) DO NOTHING`);
  // The rollup key: what every window row is grouped by.
  const dims = { minute: ingested.minute, model: ingested.model, version: ingested.version, variant: ingested.variant, shadow: ingested.shadow };
  const fold = d
    .insert(rollups)
    .select(
      d
        .select({
          ...dims,
          count: sql<number>`count(*)`.as("count"),
          errors: sql<number>`sum(${ingested.error})`.as("errors"),
          latencySumMs: sql<number>`sum(${ingested.latencyMs})`.as("latency_sum_ms"),
          latencyMaxMs: sql<number>`max(${ingested.latencyMs})`.as("latency_max_ms"),
        })
        .from(ingested)
        .where(eq(ingested.batch, batchId))
        .groupBy(...Object.values(dims)),
    )
    .onConflictDoUpdate({
      target: [rollups.model, rollups.version, rollups.variant, rollups.shadow, rollups.minute],
      set: {
        count: sql`${rollups.count} + excluded.count`,
        errors: sql`${rollups.errors} + excluded.errors`,
        latencySumMs: sql`${rollups.latencySumMs} + excluded.latency_sum_ms`,
        latencyMaxMs: sql`max(${rollups.latencyMaxMs}, excluded.latency_max_ms)`,
      },
    });
  const foldLatency = d
    .insert(rollupLatency)
    .select(
      d
        .select({
          ...dims,
          bucket: ingested.latencyBucket,
          count: sql<number>`count(*)`.as("count"),
        })
        .from(ingested)
        .where(eq(ingested.batch, batchId))
        .groupBy(...Object.values(dims), ingested.latencyBucket),
    )
    .onConflictDoUpdate({
      target: [rollupLatency.model, rollupLatency.version, rollupLatency.variant, rollupLatency.shadow, rollupLatency.minute, rollupLatency.bucket],
      set: { count: sql`${rollupLatency.count} + excluded.count` },
    });
  const foldBins = d.insert(rollupBins).select(sql`
    SELECT i.minute, i.model, i.version, i.variant, i.shadow, j.value ->> 0, j.value ->> 1, count(*)
    FROM ${ingested} AS i, json_each(i.bins) AS j
    WHERE i.batch = ${batchId}
    GROUP BY i.minute, i.model, i.version, i.variant, i.shadow, j.value ->> 0, j.value ->> 1
    ON CONFLICT (model, version, feature, minute, variant, shadow, bin) DO UPDATE SET count = ${rollupBins.count} + excluded.count`);
  await d.batch([insert, fold, foldLatency, foldBins]);
  return { accepted: records.length, rejected };
}

export const PREDICTION_FEATURE = "__prediction__";
export const DEFAULTED_BIN = -1;

/** Versions are immutable, so their drift references are cached for the isolate's life. */
const referenceCache = new Map<string, DriftReference | null>();

async function loadReferences(d: Db, records: readonly LogRecord[]): Promise<Map<string, DriftReference | null>> {
  for (const key of new Set(records.map((r) => `${r.model}@${r.version}`))) {
    if (referenceCache.has(key)) continue;
    const [model, version] = [key.slice(0, key.lastIndexOf("@")), Number(key.slice(key.lastIndexOf("@") + 1))];
    const row = await d
      .select({ metadata: versions.metadata })
      .from(versions)
      .innerJoin(models, eq(models.id, versions.modelId))
      .where(and(eq(models.name, model), eq(versions.version, version)))
      .get();
    // An unknown version is not cached: it may be registered a moment later.
    if (row) referenceCache.set(key, (row.metadata as VersionMetadata).reference ?? null);
  }
  return referenceCache;
}

/** `[feature, bin]` pairs for one record on its version's reference bins. */
function binsOf(r: LogRecord, reference: DriftReference | null | undefined): [string, number][] {
  if (!reference) return [];
  const out: [string, number][] = [];
  const defaulted = new Set(r.degraded.map((x) => x.feature));
  for (const [feature, h] of Object.entries(reference.features)) {
    if (defaulted.has(feature)) {
      out.push([feature, DEFAULTED_BIN]);
      continue;
    }
    const bin = binOf(h, r.features[feature]);
    if (bin !== undefined) out.push([feature, bin]);
  }
  const prediction = scoreOf(r);
  if (reference.prediction && prediction !== null) {
    const bin = binOf(reference.prediction, prediction);
    if (bin !== undefined) out.push([PREDICTION_FEATURE, bin]);
  }
  return out;
}

/** The record's score: its first output (the last class's value for a vector output). */
function scoreOf(r: LogRecord): number | null {
  const first = Object.values(r.outputs)[0];
  const v = typeof first === "number" ? first : first?.at(-1);
  return v === undefined || !Number.isFinite(v) ? null : v;
}
