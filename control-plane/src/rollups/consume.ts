// Folds prediction log records into per-minute rollups, counting each record exactly once
// however often the queue delivers it.
import { eq, sql } from "drizzle-orm";
import { latencyBucket, logRecordKey, logRecordSchema, type LogRecord } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { ingested, rollupLatency, rollups } from "../db/schema.ts";

/** D1 binds at most 100 parameters per statement; each ingested row takes 10. */
const ROWS_PER_INSERT = 10;

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

  const rows = records.map((r) => ({
    key: logRecordKey(r),
    batch: batchId,
    minute: Math.floor(r.ts / 60_000),
    model: r.model,
    version: r.version,
    variant: r.variant,
    shadow: r.shadow ? 1 : 0,
    error: r.status === "ok" ? 0 : 1,
    latencyMs: r.latency_ms.total,
    latencyBucket: latencyBucket(r.latency_ms.total),
  }));
  const inserts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    inserts.push(d.insert(ingested).values(rows.slice(i, i + ROWS_PER_INSERT)).onConflictDoNothing());
  }
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
  await d.batch([inserts[0]!, ...inserts.slice(1), fold, foldLatency]);
  return { accepted: records.length, rejected };
}
