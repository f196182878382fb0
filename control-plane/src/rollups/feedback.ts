// Stores feedback from the queue and feeds concept-drift detection. Only labels not stored
// before are new: those go into each version's ADWIN over its error stream, in the same guarded
// batch as the labels themselves, so a redelivered label neither counts twice nor moves ADWIN.
import { and, eq, sql } from "drizzle-orm";
import { adwinAdd, emptyAdwin, feedbackMessageSchema, feedbackTarget, type AdwinState } from "@verge/shared";
import { precondition, type Db } from "../db/client.ts";
import { conceptState, feedback, ingested } from "../db/schema.ts";
import { raiseAlert } from "../alerts/service.ts";

const ROWS_PER_INSERT = 20; // 5 parameters each, D1 allows 100

export async function storeFeedback(d: Db, bodies: readonly unknown[], now = Date.now()): Promise<{ accepted: number; counted: number; rejected: number }> {
  const byTarget = new Map<string, { target: string; label: number; ts: number; keyId: string; receivedAt: number }>();
  let rejected = 0;
  for (const body of bodies) {
    const parsed = feedbackMessageSchema.safeParse(body);
    if (!parsed.success) {
      rejected++;
      continue;
    }
    const target = feedbackTarget(parsed.data);
    byTarget.set(target, { target, label: parsed.data.label, ts: parsed.data.ts, keyId: parsed.data.key_id, receivedAt: now });
  }
  const rows = [...byTarget.values()];
  if (rows.length === 0) return { accepted: 0, counted: 0, rejected };
  const targets = rows.map((r) => r.target);
  const inJson = (list: string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(list)}))`;
  const known = new Set((await d.select({ target: feedback.target }).from(feedback).where(sql`${feedback.target} IN ${inJson(targets)}`).all()).map((r) => r.target));

  // The predictions the new labels are about, for their errors (binary labels on scores in [0, 1]).
  const fresh = rows.filter((r) => !known.has(r.target));
  const predictions = fresh.length
    ? await d.select({ requestId: ingested.requestId, model: ingested.model, version: ingested.version, score: ingested.score }).from(ingested).where(and(sql`${ingested.requestId} IN ${inJson(fresh.map((r) => r.target))}`, eq(ingested.shadow, 0))).all()
    : [];
  const streams = new Map<string, { model: string; version: number; errors: number[] }>();
  for (const r of [...fresh].sort((a, b) => a.ts - b.ts)) {
    const p = predictions.find((x) => x.requestId === r.target);
    if (!p || p.score === null || p.score < 0 || p.score > 1 || (r.label !== 0 && r.label !== 1)) continue;
    const key = `${p.model}@${p.version}`;
    const s = streams.get(key) ?? { model: p.model, version: p.version, errors: [] };
    s.errors.push((p.score >= 0.5 ? 1 : 0) === r.label ? 0 : 1);
    streams.set(key, s);
  }
  const states = [];
  const changes: { model: string; version: number; before: number; after: number }[] = [];
  for (const s of streams.values()) {
    const row = await d.select().from(conceptState).where(and(eq(conceptState.model, s.model), eq(conceptState.version, s.version))).get();
    const state = (row?.state as AdwinState | undefined) ?? emptyAdwin();
    const change = adwinAdd(state, s.errors);
    if (change && change.after > change.before) changes.push({ model: s.model, version: s.version, before: change.before, after: change.after });
    states.push(
      d
        .insert(conceptState)
        .values({ model: s.model, version: s.version, state })
        .onConflictDoUpdate({ target: [conceptState.model, conceptState.version], set: { state, updatedAt: new Date(now).toISOString() } }),
    );
  }

  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    statements.push(
      d
        .insert(feedback)
        .values(rows.slice(i, i + ROWS_PER_INSERT))
        .onConflictDoUpdate({ target: feedback.target, set: { label: sql`excluded.label`, ts: sql`excluded.ts`, receivedAt: sql`excluded.received_at` } }),
    );
  }
  const stillNew = sql`NOT EXISTS (SELECT 1 FROM ${feedback} WHERE ${feedback.target} IN ${inJson(fresh.map((r) => r.target))})`;
  await d.batch([precondition(d, stillNew), ...statements, ...states] as unknown as Parameters<Db["batch"]>[0]);
  for (const c of changes) {
    await raiseAlert(d, { model: c.model, version: c.version, kind: "concept_drift", subject: "error_rate", details: { detector: "ADWIN", error_rate_before: c.before, error_rate_after: c.after } }, now);
  }
  return { accepted: rows.length, counted: fresh.length, rejected };
}
