// Folds prediction log records into per-minute rollups, counting each record exactly once
// however often the queue delivers it.
import { and, eq, sql } from "drizzle-orm";
import { binOf, latencyBucket, logRecordKey, logRecordSchema, type DriftReference, type LogRecord, type VersionMetadata } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { ingested, models, rollupBins, rollupLatency, rollups, versions } from "../db/schema.ts";

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
    const parsed = logRecordSchema.safeParse(body);
    if (parsed.success) byKey.set(logRecordKey(parsed.data), parsed.data);
    else rejected++;
  }
  const accepted = bodies.length - rejected;
  if (byKey.size === 0) return { accepted, counted: 0, rejected };
  const keys = [...byKey.keys()];
  const seen = await d.all<{ key: string }>(sql`SELECT key FROM ${ingested} WHERE key IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`);
  for (const { key } of seen) byKey.delete(key);
  if (byKey.size === 0) return { accepted, counted: 0, rejected };
  const fresh = [...byKey.entries()];
  const references = await loadReferences(d, fresh.map(([, r]) => r));

  const counts = new Map<string, { minute: number; model: string; version: number; variant: string; shadow: number; count: number; errors: number; latencySumMs: number; latencyMaxMs: number }>();
  const latency = new Map<string, { minute: number; model: string; version: number; variant: string; shadow: number; bucket: number; count: number }>();
  const bins = new Map<string, { minute: number; model: string; version: number; variant: string; shadow: number; feature: string; bin: number; count: number }>();
  const keyRows = fresh.map(([key, r]) => {
    const dims = { minute: Math.floor(r.ts / 60_000), model: r.model, version: r.version, variant: r.variant, shadow: r.shadow ? 1 : 0 };
    const dimKey = `${dims.minute}|${dims.model}|${dims.version}|${dims.variant}|${dims.shadow}`;
    const total = r.latency_ms.total;
    const c = counts.get(dimKey) ?? { ...dims, count: 0, errors: 0, latencySumMs: 0, latencyMaxMs: 0 };
    c.count++;
    c.errors += r.status === "ok" ? 0 : 1;
    c.latencySumMs += total;
    c.latencyMaxMs = Math.max(c.latencyMaxMs, total);
    counts.set(dimKey, c);
    const bucket = latencyBucket(total);
    const l = latency.get(`${dimKey}|${bucket}`) ?? { ...dims, bucket, count: 0 };
    l.count++;
    latency.set(`${dimKey}|${bucket}`, l);
    for (const [feature, bin] of binsOf(r, references.get(`${r.model}@${r.version}`))) {
      const b = bins.get(`${dimKey}|${feature}|${bin}`) ?? { ...dims, feature, bin, count: 0 };
      b.count++;
      bins.set(`${dimKey}|${feature}|${bin}`, b);
    }
    return { key, ...dims, error: r.status === "ok" ? 0 : 1, latencyMs: total, latencyBucket: bucket, requestId: r.request_id, score: scoreOf(r) };
  });

  // The guard is `ingested.key`'s primary key: if any of these records was counted meanwhile, the
  // first insert fails and the whole batch (one transaction) with it.
  await d.batch([
    ...chunks(keyRows).map((rows) => d.insert(ingested).select(sql`
      SELECT j.value ->> '$.key', ${batchId}, j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant',
             j.value ->> '$.shadow', j.value ->> '$.error', j.value ->> '$.latencyMs', j.value ->> '$.latencyBucket',
             j.value ->> '$.requestId', j.value ->> '$.score'
      FROM json_each(${JSON.stringify(rows)}) AS j`)),
    ...chunks([...counts.values()]).map((rows) => d.insert(rollups).select(sql`
      SELECT j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant', j.value ->> '$.shadow',
             j.value ->> '$.count', j.value ->> '$.errors', j.value ->> '$.latencySumMs', j.value ->> '$.latencyMaxMs'
      FROM json_each(${JSON.stringify(rows)}) AS j WHERE true
      ON CONFLICT (model, version, variant, shadow, minute) DO UPDATE SET
        count = ${rollups.count} + excluded.count,
        errors = ${rollups.errors} + excluded.errors,
        latency_sum_ms = ${rollups.latencySumMs} + excluded.latency_sum_ms,
        latency_max_ms = max(${rollups.latencyMaxMs}, excluded.latency_max_ms)`)),
    ...chunks([...latency.values()]).map((rows) => d.insert(rollupLatency).select(sql`
      SELECT j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant', j.value ->> '$.shadow',
             j.value ->> '$.bucket', j.value ->> '$.count'
      FROM json_each(${JSON.stringify(rows)}) AS j WHERE true
      ON CONFLICT (model, version, variant, shadow, minute, bucket) DO UPDATE SET count = ${rollupLatency.count} + excluded.count`)),
    ...chunks([...bins.values()]).map((rows) => d.insert(rollupBins).select(sql`
      SELECT j.value ->> '$.minute', j.value ->> '$.model', j.value ->> '$.version', j.value ->> '$.variant', j.value ->> '$.shadow',
             j.value ->> '$.feature', j.value ->> '$.bin', j.value ->> '$.count'
      FROM json_each(${JSON.stringify(rows)}) AS j WHERE true
      ON CONFLICT (model, version, feature, minute, variant, shadow, bin) DO UPDATE SET count = ${rollupBins.count} + excluded.count`)),
  ] as unknown as Parameters<Db["batch"]>[0]);
  return { accepted, counted: fresh.length, rejected };
}

/** Rows per statement: each chunk is one JSON parameter, well inside D1's per-value size limit. */
const ROWS_PER_STATEMENT = 1000;

function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) out.push(rows.slice(i, i + ROWS_PER_STATEMENT));
  return out;
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

