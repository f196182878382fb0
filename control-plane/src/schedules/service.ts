// Schedules and their runs in D1. The claim on an occurrence is the insert of its row (primary
// key: schedule + occurrence), so of two trainers racing for one, exactly one gets it; every
// later move (retry, takeover of an expired lease, heartbeat, result) is an update conditioned on
// the attempt and status the caller saw, so it applies at most once.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { ApiError, latestOccurrence, nextOccurrence, retryDelayMs, type ClaimRun, type PutSchedule, type ReportRun, type RunAttempt, type ScheduleRunView, type ScheduleView } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { scheduleRuns, schedules } from "../db/schema.ts";

type ScheduleRow = typeof schedules.$inferSelect;
type RunRow = typeof scheduleRuns.$inferSelect;

const iso = (ms: number) => new Date(ms).toISOString();

export async function findSchedule(d: Db, id: string): Promise<ScheduleRow> {
  const row = await d.select().from(schedules).where(eq(schedules.id, id)).get();
  if (!row) throw new ApiError("not_found", `schedule "${id}" does not exist`);
  return row;
}

export async function presentSchedules(d: Db, rows: ScheduleRow[], now = Date.now()): Promise<ScheduleView[]> {
  if (!rows.length) return [];
  const ids = rows.map((r) => r.id);
  const [latest, successes] = await d.batch([
    d.select({ id: scheduleRuns.scheduleId, occurrence: sql<string>`max(${scheduleRuns.occurrence})` }).from(scheduleRuns).where(and(inArray(scheduleRuns.scheduleId, ids), eq(scheduleRuns.reason, "cron"))).groupBy(scheduleRuns.scheduleId),
    d
      .select({ id: scheduleRuns.scheduleId, occurrence: scheduleRuns.occurrence, fingerprint: scheduleRuns.fingerprint })
      .from(scheduleRuns)
      .where(and(inArray(scheduleRuns.scheduleId, ids), eq(scheduleRuns.status, "succeeded")))
      .orderBy(desc(scheduleRuns.occurrence)),
  ]);
  return rows.map((r) => {
    const spec = r.spec as PutSchedule;
    return {
      ...spec,
      id: r.id,
      paused: r.paused,
      revision: r.revision,
      active_since: iso(r.activeSince),
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      next_run_at: r.paused ? null : ((t) => (t === null ? null : iso(t)))(nextOccurrence(spec.cron, spec.timezone, Math.max(now, r.activeSince - 1))),
      last_occurrence: latest.find((l) => l.id === r.id)?.occurrence ?? null,
      last_success_fingerprint: successes.find((s) => s.id === r.id)?.fingerprint ?? null,
    };
  });
}

export function presentRun(r: RunRow): ScheduleRunView {
  return {
    schedule: r.scheduleId,
    occurrence: r.occurrence,
    reason: r.reason,
    status: r.status,
    attempt: r.attempt,
    ...(r.runner ? { runner: r.runner } : {}),
    ...(r.leaseUntil !== null && r.status === "running" ? { lease_until: iso(r.leaseUntil) } : {}),
    ...(r.nextAttemptAt !== null && r.status === "retry_wait" ? { next_attempt_at: iso(r.nextAttemptAt) } : {}),
    ...(r.result !== null ? { result: r.result } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}),
    attempts: r.attempts as RunAttempt[],
    created_at: r.createdAt,
    ...(r.finishedAt ? { finished_at: r.finishedAt } : {}),
  };
}

const runKey = (id: string, occurrence: string) => and(eq(scheduleRuns.scheduleId, id), eq(scheduleRuns.occurrence, occurrence));

/**
 * A trainer claims a run: a new cron occurrence (`seen_attempt` 0: inserts the row), or the next
 * attempt of an open run (pending "run now", a retry that is due, or a run whose lease expired).
 * Answers the run, now `running` for this runner, or a 409 when someone else has it.
 */
export async function claimRun(d: Db, id: string, at: number, claim: ClaimRun, now = Date.now()): Promise<ScheduleRunView> {
  const schedule = await findSchedule(d, id);
  const spec = schedule.spec as PutSchedule;
  const occurrence = iso(at);
  const attempt = (n: number): RunAttempt => ({ attempt: n, runner: claim.runner, started_at: iso(now) });
  const run = await d.select().from(scheduleRuns).where(runKey(id, occurrence)).get();
  if (!run) {
    // A new cron occurrence: the insert is the claim.
    if (claim.seen_attempt !== 0) throw new ApiError("not_found", `schedule "${id}" has no run at ${occurrence}`);
    if (schedule.paused) throw new ApiError("conflict", `schedule "${id}" is paused`);
    const latest = latestOccurrence(spec.cron, spec.timezone, now, schedule.activeSince);
    if (latest !== at) throw new ApiError("conflict", `${occurrence} is not the schedule's current occurrence (${latest === undefined ? "none yet" : iso(latest)})`);
    const [row] = await d
      .insert(scheduleRuns)
      .values({ scheduleId: id, occurrence, reason: "cron", status: "running", attempt: 1, runner: claim.runner, leaseUntil: now + claim.lease_ms, attempts: [attempt(1)] })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new ApiError("conflict", `occurrence ${occurrence} of "${id}" is already claimed`);
    return presentRun(row);
  }
  if (run.attempt !== claim.seen_attempt) throw new ApiError("conflict", `run ${occurrence} of "${id}" has moved on (attempt ${run.attempt})`);
  const expired = run.status === "running" && (run.leaseUntil ?? 0) < now;
  const due = run.status === "pending" || (run.status === "retry_wait" && (run.nextAttemptAt ?? 0) <= now) || expired;
  if (!due) throw new ApiError("conflict", `run ${occurrence} of "${id}" is ${run.status} and not claimable now`);
  const attempts = (run.attempts as RunAttempt[]).map((a, i, all) => (i === all.length - 1 && expired && !a.finished_at ? { ...a, finished_at: iso(now), error: `lease expired: runner ${a.runner} stopped reporting` } : a));
  const base = and(runKey(id, occurrence), eq(scheduleRuns.attempt, run.attempt), eq(scheduleRuns.status, run.status));
  if (expired && run.attempt >= spec.retry.attempts) {
    // The last allowed attempt was lost with its runner: the occurrence has failed.
    await d.update(scheduleRuns).set({ status: "failed", error: `lease expired on attempt ${run.attempt} of ${spec.retry.attempts}`, attempts, finishedAt: iso(now), leaseUntil: null }).where(base);
    throw new ApiError("conflict", `run ${occurrence} of "${id}" failed: its last attempt's lease expired`);
  }
  const [row] = await d
    .update(scheduleRuns)
    .set({ status: "running", attempt: run.attempt + 1, runner: claim.runner, leaseUntil: now + claim.lease_ms, nextAttemptAt: null, attempts: [...attempts, attempt(run.attempt + 1)] })
    .where(base)
    .returning();
  if (!row) throw new ApiError("conflict", `run ${occurrence} of "${id}" was claimed by another trainer`);
  return presentRun(row);
}

/** The runner that holds a run reports on it: heartbeat (extends the lease), or its outcome. */
export async function reportRun(d: Db, id: string, at: number, report: ReportRun, now = Date.now()): Promise<ScheduleRunView> {
  const schedule = await findSchedule(d, id);
  const spec = schedule.spec as PutSchedule;
  const occurrence = iso(at);
  const run = await d.select().from(scheduleRuns).where(runKey(id, occurrence)).get();
  if (!run) throw new ApiError("not_found", `schedule "${id}" has no run at ${occurrence}`);
  const held = run.status === "running" && run.runner === report.runner && run.attempt === report.attempt && (run.leaseUntil ?? 0) >= now;
  if (!held) throw new ApiError("conflict", `run ${occurrence} of "${id}" is not held by ${report.runner} (attempt ${report.attempt}): the lease was lost`);
  const attempts = [...(run.attempts as RunAttempt[])];
  const last = { ...attempts.at(-1)! };
  let set: Partial<RunRow>;
  if (report.status === "running") {
    if (report.job_id) last.job_id = report.job_id;
    set = { leaseUntil: now + report.lease_ms, ...(report.fingerprint ? { fingerprint: report.fingerprint } : {}) };
  } else {
    last.finished_at = iso(now);
    if (report.status === "failed") {
      last.error = report.error;
      const retry = report.retry && run.attempt < spec.retry.attempts;
      set = retry
        ? { status: "retry_wait", nextAttemptAt: now + retryDelayMs(spec.retry, run.attempt), error: report.error, leaseUntil: null }
        : { status: "failed", error: report.error, finishedAt: iso(now), leaseUntil: null };
    } else {
      set = { status: report.status, result: report.result ?? null, error: null, finishedAt: iso(now), leaseUntil: null, ...(report.status === "succeeded" && report.fingerprint ? { fingerprint: report.fingerprint } : {}) };
    }
  }
  attempts[attempts.length - 1] = last;
  const [row] = await d
    .update(scheduleRuns)
    .set({ ...set, attempts })
    .where(and(runKey(id, occurrence), eq(scheduleRuns.attempt, run.attempt), eq(scheduleRuns.status, "running"), eq(scheduleRuns.runner, report.runner)))
    .returning();
  if (!row) throw new ApiError("conflict", `run ${occurrence} of "${id}" changed while reporting`);
  return presentRun(row);
}

/** What trainers need each tick: every schedule, and the runs that may need a hand. */
export async function work(d: Db, now = Date.now()): Promise<{ now: string; schedules: ScheduleView[]; open_runs: ScheduleRunView[] }> {
  const [rows, open] = await d.batch([d.select().from(schedules), d.select().from(scheduleRuns).where(inArray(scheduleRuns.status, ["pending", "retry_wait", "running"]))]);
  return { now: iso(now), schedules: await presentSchedules(d, rows, now), open_runs: open.map(presentRun) };
}
