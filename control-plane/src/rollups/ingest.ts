// The prediction-log consumer's work for one batch: validate, redact, route each record to its
// rollup shard (model, UTC day, hash sub-shard), add the records up per shard (fold.ts), gzip them
// per lake hour, and hand both to the shard, which counts each record exactly once and writes the
// lake objects of what it counted. Records that cannot be counted are kept as dead letters.
import { and, eq, inArray } from "drizzle-orm";
import { recordsOf, redactRecord, type LogRecord, type VersionMetadata } from "@verge/shared";
import { controlPlaneConfig } from "../config.ts";
import type { Db } from "../db/client.ts";
import { models, versions } from "../db/schema.ts";
import { storeDeadLetter } from "../dead-letters/store.ts";
import { HOUR_MS } from "../lake/keys.ts";
import { logSettingsFor } from "../lake/settings.ts";
import { ensureDay, mapLimit, shardName, shardStub, subOf } from "./directory.ts";
import { binPlan, foldForShard, shardKey, type BinPlan } from "./fold.ts";
import { parseLogRecord } from "./record-check.ts";
import { dayOf, type LakePart, type ShardRef } from "./shard-types.ts";

export interface IngestResult {
  /** Records that parsed (already-counted redeliveries included). */
  accepted: number;
  /** Records counted by this batch (not seen before). */
  counted: number;
  /** Records already counted (redeliveries). */
  duplicates: number;
  /** Records that did not match the schema: kept as dead letters, never retried forever. */
  rejected: number;
  /** Records too old to count exactly (past the dedup horizon): kept as dead letters. */
  late: number;
  /** The slowest shard's own time for its fold, ms. */
  shardMs: number;
}

/** Raw NDJSON per lake object stays under this, so a gzipped object fits one SQLite row (2 MB) in the shard's outbox. */
const MAX_PART_BYTES = 1_500_000;
/** Shards a batch folds into at once. */
const PARALLEL_SHARDS = 16;

export async function ingestLogs(env: Env, d: Db, bodies: readonly unknown[]): Promise<IngestResult> {
  const invalid: unknown[] = [];
  const shards = new Map<string, { ref: ShardRef; records: Map<string, LogRecord> }>();
  let accepted = 0;
  let repeated = 0;
  for (const body of bodies) {
    for (const raw of recordsOf(body)) {
      const parsed = parseLogRecord(raw);
      if (!parsed) {
        invalid.push(raw);
        continue;
      }
      accepted++;
      const settings = await logSettingsFor(d, parsed.model);
      const record = settings ? await redactRecord(parsed, settings) : parsed;
      const day = dayOf(record.ts);
      const subs = await ensureDay(d, record.model, day, settings?.subshards ?? controlPlaneConfig(env).ROLLUP_SUBSHARDS);
      const ref = { model: record.model, day, sub: subOf(record.request_id, subs) };
      const name = shardName(ref);
      let group = shards.get(name);
      if (!group) shards.set(name, (group = { ref, records: new Map() }));
      // The same record twice in one batch is one record.
      if (group.records.has(shardKey(record))) repeated++;
      else group.records.set(shardKey(record), record);
    }
  }
  const outcomes = await mapLimit([...shards.values()], PARALLEL_SHARDS, (g) => foldShard(env, d, g.ref, [...g.records.values()]));
  const late = outcomes.flatMap((o) => o.expired);
  if (invalid.length) await storeDeadLetter(env, d, { queue: "prediction-logs", reason: "records that do not match the log record schema", bodies: invalid });
  if (late.length) {
    await storeDeadLetter(env, d, { queue: "prediction-logs", reason: "records older than the dedup horizon: their day's shard no longer holds every identity, so they cannot be counted exactly once", bodies: late });
  }
  return {
    accepted,
    counted: outcomes.reduce((s, o) => s + o.counted, 0),
    duplicates: repeated + outcomes.reduce((s, o) => s + o.duplicates, 0),
    rejected: invalid.length,
    late: late.length,
    shardMs: Math.max(0, ...outcomes.map((o) => o.ms)),
  };
}

/**
 * Folds one shard's records. If some were counted meanwhile (a concurrent delivery), the shard
 * writes nothing and says which are new: those alone are added up and folded again.
 */
async function foldShard(env: Env, d: Db, ref: ShardRef, records: LogRecord[]): Promise<{ counted: number; duplicates: number; expired: LogRecord[]; ms: number }> {
  const stub = shardStub(env, ref);
  let pending = records;
  let duplicates = 0;
  let ms = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const plans = await loadPlans(d, ref.model, pending);
    const fold = foldForShard(pending, (v) => plans.get(v) ?? null);
    const result = await stub.fold({ shard: ref, fold, lake: await lakeParts(pending) });
    ms += result.ms;
    if (result.status === "counted") return { counted: result.counted, duplicates, expired: [], ms };
    if (result.status === "duplicate") return { counted: 0, duplicates: duplicates + result.duplicates, expired: [], ms };
    if (result.status === "expired") return { counted: 0, duplicates, expired: pending, ms };
    duplicates += pending.length - result.fresh.length;
    pending = result.fresh.map((i) => pending[i]!);
  }
  throw new Error(`shard ${shardName(ref)}: concurrent folds kept overlapping; the batch will be retried`);
}

/** Gzipped NDJSON per lake hour, in parts small enough for the shard's outbox. */
export async function lakeParts(records: readonly LogRecord[]): Promise<LakePart[]> {
  const byHour = new Map<number, string[]>();
  for (const r of records) {
    const hour = Math.floor(r.ts / HOUR_MS);
    let lines = byHour.get(hour);
    if (!lines) byHour.set(hour, (lines = []));
    lines.push(JSON.stringify(r));
  }
  const parts: LakePart[] = [];
  for (const [hour, lines] of byHour) {
    let chunk: string[] = [];
    let bytes = 0;
    const close = async () => {
      parts.push({ hour, body: await gzip(chunk.join("\n") + "\n"), records: chunk.length });
      chunk = [];
      bytes = 0;
    };
    for (const line of lines) {
      // String length is at most the UTF-8 length / 1 and at least / 3: bound by 3× to stay safe.
      if (chunk.length && bytes + line.length * 3 > MAX_PART_BYTES) await close();
      chunk.push(line);
      bytes += line.length * 3 + 1;
    }
    if (chunk.length) await close();
  }
  return parts;
}

export async function gzip(text: string): Promise<ArrayBuffer> {
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

/** Versions are immutable, so their bin plans are cached for the isolate's life. */
const planCache = new Map<string, BinPlan | null>();

/** The plans of the records' versions; a version without a reference has none (no drift bins). */
async function loadPlans(d: Db, model: string, records: readonly LogRecord[]): Promise<Map<number, BinPlan | null>> {
  const wanted = [...new Set(records.map((r) => r.version))];
  const missing = wanted.filter((v) => !planCache.has(`${model}@${v}`));
  if (missing.length) {
    const rows = await d
      .select({ version: versions.version, metadata: versions.metadata })
      .from(versions)
      .innerJoin(models, eq(models.id, versions.modelId))
      .where(and(eq(models.name, model), inArray(versions.version, missing)))
      .all();
    // An unknown version is not cached: it may be registered a moment later.
    for (const row of rows) {
      const reference = (row.metadata as VersionMetadata).reference;
      planCache.set(`${model}@${row.version}`, reference ? binPlan(reference) : null);
    }
  }
  return new Map(wanted.map((v) => [v, planCache.get(`${model}@${v}`) ?? null]));
}
