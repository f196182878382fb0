// The cron's shard upkeep: every shard whose next maintenance is due (per the directory) compacts
// and prunes itself; a shard past its retention is deleted, with its directory row.
import { and, asc, eq, lte } from "drizzle-orm";
import { controlPlaneConfig } from "../config.ts";
import type { Db } from "../db/client.ts";
import { conceptCursors, rollupShards } from "../db/schema.ts";
import { mapLimit, shardStub } from "./directory.ts";
import { DAY_MS, type MaintenancePolicy } from "./shard-types.ts";

/** A shard with nothing left to do is looked at again this far in the future (year 2255). */
const NEVER = 9e12;

export function maintenancePolicy(env: Env, now: number): MaintenancePolicy {
  const config = controlPlaneConfig(env);
  return {
    now,
    horizonMs: config.DEDUP_HORIZON_HOURS * 3_600_000,
    feedbackWindowMs: config.FEEDBACK_WINDOW_DAYS * DAY_MS,
    retentionMs: config.ROLLUP_RETENTION_DAYS * DAY_MS,
  };
}

export async function maintainShards(env: Env, d: Db, now = Date.now(), limit = 100): Promise<number> {
  const due = await d.select({ model: rollupShards.model, day: rollupShards.day, sub: rollupShards.sub }).from(rollupShards).where(lte(rollupShards.nextMaintenanceAt, now)).orderBy(asc(rollupShards.nextMaintenanceAt)).limit(limit).all();
  const policy = maintenancePolicy(env, now);
  await mapLimit(due, 8, async (ref) => {
    const result = await shardStub(env, ref).maintain(ref, policy);
    const where = and(eq(rollupShards.model, ref.model), eq(rollupShards.day, ref.day), eq(rollupShards.sub, ref.sub));
    if (result.deleted) {
      await d.batch([d.delete(rollupShards).where(where), d.delete(conceptCursors).where(and(eq(conceptCursors.model, ref.model), eq(conceptCursors.day, ref.day), eq(conceptCursors.sub, ref.sub)))]);
    } else {
      await d.update(rollupShards).set({ nextMaintenanceAt: result.next ?? NEVER }).where(where);
    }
  });
  return due.length;
}
