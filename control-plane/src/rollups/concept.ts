// Concept drift: each version's labelled errors feed an ADWIN detector (state in D1). Shards number
// the labels they apply; a cursor per shard says how far its labels have been fed, and moves in the
// same D1 batch as the states (and any alert they raise), guarded by their revisions. So every label is fed exactly once, even
// if a consumer stops between storing labels and feeding them (the next one catches up).
import { and, eq, inArray, sql } from "drizzle-orm";
import { adwinAdd, emptyAdwin, type AdwinState } from "@verge/shared";
import { alertStatements } from "../alerts/service.ts";
import { precondition, type Db } from "../db/client.ts";
import { conceptCursors, conceptState } from "../db/schema.ts";
import { shardStub } from "./directory.ts";
import type { ShardRef } from "./shard-types.ts";

const MAX_TRIES = 5;

export async function advanceConcept(env: Env, d: Db, shards: readonly ShardRef[], now = Date.now()): Promise<void> {
  for (const ref of shards) {
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      try {
        if (!(await advanceOne(env, d, ref, now))) break;
      } catch (err) {
        // Another consumer moved the cursor or a state meanwhile: read again.
        if (!/precondition/.test(String((err as Error).message) + String((err as Error).cause ?? ""))) throw err;
      }
    }
  }
}

/** Feeds one page of a shard's new labels; true when there may be more. */
async function advanceOne(env: Env, d: Db, ref: ShardRef, now: number): Promise<boolean> {
  const where = and(eq(conceptCursors.model, ref.model), eq(conceptCursors.day, ref.day), eq(conceptCursors.sub, ref.sub));
  const cursor = (await d.select({ seq: conceptCursors.seq }).from(conceptCursors).where(where).get())?.seq ?? 0;
  const page = await shardStub(env, ref).labelsSince(cursor);
  if (page.last === cursor) return false;
  const byVersion = new Map<number, number[]>();
  for (const item of page.items) byVersion.set(item.version, [...(byVersion.get(item.version) ?? []), item.error]);
  const rows = byVersion.size
    ? await d.select().from(conceptState).where(and(eq(conceptState.model, ref.model), inArray(conceptState.version, [...byVersion.keys()]))).all()
    : [];
  const statements = [];
  const alerts = [];
  for (const [version, errors] of byVersion) {
    const row = rows.find((r) => r.version === version);
    const state = (row?.state as AdwinState | undefined) ?? emptyAdwin();
    const change = adwinAdd(state, errors);
    // The alert commits in the same batch as the state that raised it: if the batch fails, both
    // are retried from the cursor; if it succeeds, the alert is there (never lost after a commit).
    if (change && change.after > change.before) {
      alerts.push(...alertStatements(d, { model: ref.model, version, kind: "concept_drift", subject: "error_rate", details: { detector: "ADWIN", error_rate_before: change.before, error_rate_after: change.after } }, now));
    }
    const revision = row?.revision ?? -1;
    statements.push(
      precondition(d, sql`coalesce((SELECT ${conceptState.revision} FROM ${conceptState} WHERE ${conceptState.model} = ${ref.model} AND ${conceptState.version} = ${version}), -1) = ${revision}`),
      d
        .insert(conceptState)
        .values({ model: ref.model, version, state, revision: revision + 1 })
        .onConflictDoUpdate({ target: [conceptState.model, conceptState.version], set: { state, revision: revision + 1, updatedAt: new Date(now).toISOString() } }),
    );
  }
  await d.batch([
    precondition(d, sql`coalesce((SELECT ${conceptCursors.seq} FROM ${conceptCursors} WHERE ${conceptCursors.model} = ${ref.model} AND ${conceptCursors.day} = ${ref.day} AND ${conceptCursors.sub} = ${ref.sub}), 0) = ${cursor}`),
    ...statements,
    d
      .insert(conceptCursors)
      .values({ ...ref, seq: page.last })
      .onConflictDoUpdate({ target: [conceptCursors.model, conceptCursors.day, conceptCursors.sub], set: { seq: page.last } }),
    ...alerts,
  ] as unknown as Parameters<Db["batch"]>[0]);
  return true;
}
