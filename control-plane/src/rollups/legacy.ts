// The one-time move of monitoring data out of D1 (before rollup shards, rollups, identities and
// labels lived in D1 tables): each call moves a chunk of every legacy table into the shards of the
// rows' days and deletes it from D1. A chunk is named by its table and row ids, and a shard applies
// a chunk once, so a call that stops half-way is simply run again. `npm run migrate:monitoring`
// calls it until nothing is left.
import { sql, type AnyColumn } from "drizzle-orm";
import { feedbackTarget, monitoringMigrationSchema } from "@verge/shared";
import { controlPlaneConfig } from "../config.ts";
import { db, type Db } from "../db/client.ts";
import { feedback, ingested, rollupBins, rollupLatency, rollups } from "../db/schema.ts";
import { storeDeadLetter } from "../dead-letters/store.ts";
import { jsonBody, newApp } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { logSettingsFor } from "../lake/settings.ts";
import { ensureDay, shardName, shardStub, subOf } from "./directory.ts";
import type { LegacyChunk, ShardRef } from "./shard-types.ts";

type Row = Record<string, unknown> & { rowid: number };
type Table = "rollups" | "rollup_latency" | "rollup_bins" | "ingested";

/** `column IN (values)` with the values as one JSON parameter (D1 binds at most 100 per statement). */
const inJson = (column: AnyColumn, values: readonly string[]) => sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;

const emptyChunk = (): LegacyChunk => ({ counts: [], latency: [], bins: [], predictions: [], labels: [] });

export const legacyRoutes = newApp().post("/monitoring-migration", guard(api.monitoringMigration), jsonBody(monitoringMigrationSchema), async (c) => {
  const d = db(c.env);
  const { limit } = c.req.valid("json");
  const moved: Record<string, number> = {};
  for (const table of ["rollups", "rollup_latency", "rollup_bins", "ingested"] as const) moved[table] = await moveChunk(c.env, d, table, limit);
  moved.unmatched_labels = (await remaining(d)).ingested === 0 ? await moveUnmatchedLabels(c.env, d, limit) : 0;
  const left = await remaining(d);
  return c.json({ moved, remaining: left, done: Object.values(left).every((n) => n === 0) });
});

export async function remaining(d: Db): Promise<Record<string, number>> {
  const n = async (table: typeof rollups | typeof rollupLatency | typeof rollupBins | typeof ingested | typeof feedback) => (await d.select({ n: sql<number>`count(*)` }).from(table).get())?.n ?? 0;
  return { rollups: await n(rollups), rollup_latency: await n(rollupLatency), rollup_bins: await n(rollupBins), ingested: await n(ingested), feedback: await n(feedback) };
}

async function moveChunk(env: Env, d: Db, table: Table, limit: number): Promise<number> {
  const rows = await d.all<Row>(sql`SELECT rowid, * FROM ${sql.identifier(table)} ORDER BY rowid LIMIT ${limit}`);
  if (rows.length === 0) return 0;
  const chunk = `${table}:${rows[0]!.rowid}-${rows.at(-1)!.rowid}`;
  const byShard = new Map<string, { ref: ShardRef; data: LegacyChunk }>();
  const at = async (model: string, minute: number, target?: string) => {
    const day = Math.floor(minute / 1440);
    const subs = await ensureDay(d, model, day, (await logSettingsFor(d, model))?.subshards ?? controlPlaneConfig(env).ROLLUP_SUBSHARDS);
    // Sums may go to any sub-shard of their day (readers add them all up); identities go where their target hashes.
    const ref = { model, day, sub: target === undefined ? 0 : subOf(target, subs) };
    const name = shardName(ref);
    if (!byShard.has(name)) byShard.set(name, { ref, data: emptyChunk() });
    return byShard.get(name)!.data;
  };
  let labels: { target: string; label: number; ts: number }[] = [];
  for (const r of rows) {
    const [model, version, variant, shadow, minute] = [String(r.model), Number(r.version), String(r.variant), Number(r.shadow) as 0 | 1, Number(r.minute)];
    if (table === "rollups") (await at(model, minute)).counts.push([minute, version, variant, shadow, Number(r.count), Number(r.errors), Number(r.latency_sum_ms), Number(r.latency_max_ms)]);
    else if (table === "rollup_latency") (await at(model, minute)).latency.push([minute, version, variant, shadow, Number(r.bucket), Number(r.count)]);
    else if (table === "rollup_bins") (await at(model, minute)).bins.push([minute, version, String(r.feature), Number(r.bin), Number(r.count)]);
    else {
      // Rows from before request ids were stored carry them only in their key (model|version|shadow|request id).
      const target = String(r.request_id || String(r.key).split("|").slice(3).join("|"));
      (await at(model, minute, target)).predictions.push([target, version, shadow, minute, variant, Number(r.error) as 0 | 1, r.score === null ? null : Number(r.score)]);
    }
  }
  if (table === "ingested") {
    const targets = [...new Set([...byShard.values()].flatMap((s) => s.data.predictions.map((p) => p[0])))];
    const found = targets.length ? await d.select().from(feedback).where(inJson(feedback.target, targets)).all() : [];
    labels = found.map((f) => ({ target: f.target, label: f.label, ts: f.ts }));
    for (const [, s] of byShard) {
      const mine = new Set(s.data.predictions.map((p) => p[0]));
      s.data.labels = labels.filter((l) => mine.has(l.target));
    }
  }
  for (const { ref, data } of byShard.values()) await shardStub(env, ref).importLegacy(ref, chunk, data);
  const ids = rows.map((r) => r.rowid);
  const tables = { rollups, rollup_latency: rollupLatency, rollup_bins: rollupBins, ingested };
  await d.batch([
    d.delete(tables[table]).where(sql`rowid IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`),
    ...(labels.length ? [d.delete(feedback).where(inJson(feedback.target, labels.map((l) => l.target)))] : []),
  ]);
  return rows.length;
}

/** Labels no moved prediction had: kept as feedback dead letters, so they can be re-driven if their prediction turns up. */
async function moveUnmatchedLabels(env: Env, d: Db, limit: number): Promise<number> {
  const rows = await d.select().from(feedback).limit(limit).all();
  if (rows.length === 0) return 0;
  const bodies = rows.map((f) => {
    const [requestId, position] = f.target.split("#");
    const item = { request_id: requestId!, ...(position !== undefined && /^\d+$/.test(position) ? { position: Number(position) } : {}) };
    // Kept in the feedback message shape; the target round-trips through feedbackTarget.
    return feedbackTarget(item) === f.target ? { ...item, label: f.label, ts: f.ts, key_id: f.keyId } : { request_id: f.target, label: f.label, ts: f.ts, key_id: f.keyId };
  });
  await storeDeadLetter(env, d, { queue: "feedback", reason: "labels without a prediction, found by the one-time move of monitoring data out of D1", bodies });
  await d.delete(feedback).where(inJson(feedback.target, rows.map((r) => r.target)));
  return rows.length;
}
