// The rollup shard directory: which shards exist for a model's days (a small D1 table, one row per
// model, day and sub-shard), how a prediction picks its sub-shard, and the Durable Object stub.
import { and, eq, gte, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { rollupShards } from "../db/schema.ts";
import { COMPACTION } from "./shard-upkeep.ts";
import { DAY_MS, type ShardRef } from "./shard-types.ts";

export const shardName = (r: ShardRef) => `${r.model}/${r.day}/${r.sub}`;

export function shardStub(env: Env, r: ShardRef) {
  return env.ROLLUP_SHARDS.get(env.ROLLUP_SHARDS.idFromName(shardName(r)));
}

/**
 * The sub-shard of a prediction: FNV-1a (32-bit) of its target (request id, `#position` for a row)
 * modulo the day's sub-shards. Feedback names the same target, so a label finds its prediction's
 * sub-shard; redeliveries share it, so they meet their own identity.
 */
export function subOf(target: string, subs: number): number {
  if (subs <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < target.length; i++) {
    h ^= target.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % subs;
}

/** A new shard's first maintenance: when its first minutes are due to be compacted into hours. */
const firstMaintenance = (day: number) => day * DAY_MS + COMPACTION.hourAfterMinutes * 60_000;

/** Days are immutable once created (their sub-shard count is fixed), so each isolate caches them. */
const known = new Map<string, number>();

/**
 * The number of sub-shards of a model's day, creating the day's directory rows on first use with
 * `wanted` sub-shards. One statement, so concurrent consumers agree on the count.
 */
export async function ensureDay(d: Db, model: string, day: number, wanted: number): Promise<number> {
  const key = `${model}/${day}`;
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  const subs = Array.from({ length: Math.max(1, wanted) }, (_, i) => i);
  await d.run(sql`
    INSERT INTO ${rollupShards} (model, day, sub, subs, next_maintenance_at)
    SELECT ${model}, ${day}, value, ${subs.length}, ${firstMaintenance(day)} FROM json_each(${JSON.stringify(subs)})
    WHERE NOT EXISTS (SELECT 1 FROM ${rollupShards} WHERE model = ${model} AND day = ${day})`);
  const row = await d.select({ subs: rollupShards.subs }).from(rollupShards).where(and(eq(rollupShards.model, model), eq(rollupShards.day, day))).limit(1).get();
  const count = row?.subs ?? subs.length;
  known.set(key, count);
  return count;
}

/** Every shard of a model between two days (inclusive). */
export async function shardsBetween(d: Db, model: string, fromDay: number, toDay: number): Promise<ShardRef[]> {
  return d
    .select({ model: rollupShards.model, day: rollupShards.day, sub: rollupShards.sub })
    .from(rollupShards)
    .where(and(eq(rollupShards.model, model), gte(rollupShards.day, fromDay), lte(rollupShards.day, toDay)))
    .orderBy(rollupShards.day, rollupShards.sub)
    .all();
}

/** The days (with their sub-shard counts) that models have since a day, newest first. */
export async function daysSince(d: Db, models: readonly string[], fromDay: number): Promise<{ model: string; day: number; subs: number }[]> {
  if (models.length === 0) return [];
  return d
    .select({ model: rollupShards.model, day: rollupShards.day, subs: rollupShards.subs })
    .from(rollupShards)
    .where(and(sql`${rollupShards.model} IN (SELECT value FROM json_each(${JSON.stringify(models)}))`, gte(rollupShards.day, fromDay), eq(rollupShards.sub, 0)))
    .orderBy(sql`${rollupShards.day} DESC`)
    .all();
}

/** Runs `fn` over items with at most `limit` at once, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}
