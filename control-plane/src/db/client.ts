// Drizzle over D1, plus the statements many changes share (audit entries, snapshot bumps).
import { drizzle } from "drizzle-orm/d1";
import { eq, sql, type SQL } from "drizzle-orm";
import { ApiError } from "@verge/shared";
import * as schema from "./schema.ts";

export type Db = ReturnType<typeof db>;

export const db = (env: Env) => drizzle(env.DB, { schema });

/** An audit entry, meant to ride in the same batch as the change it records. */
export function auditEntry(d: Db, entry: { actor: string; action: string; target: string; before?: unknown; after?: unknown }) {
  return d.insert(schema.audit).values({
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    before: entry.before ?? null,
    after: entry.after ?? null,
  });
}

/** Bumps the routing snapshot's version; include it in every batch that changes routing. */
export function bumpSnapshot(d: Db) {
  return d
    .insert(schema.counters)
    .values({ name: "snapshot", value: 1 })
    .onConflictDoUpdate({ target: schema.counters.name, set: { value: sql`${schema.counters.value} + 1` } });
}

export async function snapshotVersion(d: Db): Promise<number> {
  const row = await d.select({ value: schema.counters.value }).from(schema.counters).where(eq(schema.counters.name, "snapshot")).get();
  return row?.value ?? 0;
}

export async function findModel(d: Db, name: string) {
  const model = await d.select().from(schema.models).where(eq(schema.models.name, name)).get();
  if (!model) throw new ApiError("not_found", `model "${name}" does not exist`);
  return model;
}

/**
 * A batch statement that aborts the whole batch unless `condition` holds when it runs; the
 * error handler turns the abort into a 409.
 */
export function precondition(d: Db, condition: SQL) {
  return d
    .insert(schema.preconditions)
    .values({ id: 1, ok: sql`CASE WHEN ${condition} THEN 1 ELSE 0 END` })
    .onConflictDoUpdate({ target: schema.preconditions.id, set: { ok: sql`excluded.ok` } });
}

export const PRECONDITION_FAILED = "CHECK constraint failed: precondition";
