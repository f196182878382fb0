// The trainer's scheduler. Each tick it reads the schedules and open runs from the control plane
// (with the control plane's clock), claims what is due there — the latest cron time of each
// schedule not yet run, "run now" requests, retries whose backoff is over, runs whose runner
// stopped renewing its lease — and runs what it won. Claims live in the control plane, not on
// this node's disk, so replicas on different nodes share them: an occurrence runs once however
// many trainers look at it, and a trainer that restarts finds its runs there (taken over once
// their lease expires).
import { ApiError, latestOccurrence, type ScheduleRunView, type ScheduleTrigger, type ScheduleView } from "@verge/shared";
import type { ScheduleClient } from "./client.ts";

/** What a task sees of its run. */
export interface RunContext {
  schedule: ScheduleView;
  run: ScheduleRunView;
  occurrence: number;
  attempt: number;
  signal: AbortSignal;
  /** Records the job this attempt started (kept with the attempt, so a later one can find it). */
  setJob(id: string): Promise<void>;
}

export interface TriggerVerdict {
  run: boolean;
  fingerprint: string;
  /** How it decided, in words (kept as the skipped run's result). */
  detail: string;
}

export interface SchedulerDeps {
  client: Pick<ScheduleClient, "work" | "claim" | "report">;
  /** Runs a schedule's task; resolves with what it did, rejects with why it failed. */
  execute(ctx: RunContext): Promise<unknown>;
  /** Whether a data trigger sees something new since `last` (the last successful run's fingerprint). */
  evaluateTrigger(trigger: ScheduleTrigger, last: string | null): Promise<TriggerVerdict>;
  /** This process's name in claims: node id plus a per-process suffix. */
  runner: string;
  leaseMs: number;
  tickMs: number;
  log?: (line: string) => void;
}

const key = (schedule: string, occurrence: string) => `${schedule}@${occurrence}`;

export class Scheduler {
  private readonly active = new Map<string, AbortController>();
  private readonly finished = new Set<Promise<void>>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = true;
  private lastError = "";

  constructor(private readonly deps: SchedulerDeps) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop();
  }

  /** Stops claiming; running tasks are aborted and their runs reported as failed (to be retried). */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    for (const c of this.active.values()) c.abort(new Error("the trainer is shutting down"));
    await Promise.all(this.finished);
  }

  /** Stops everything without a word to the control plane, as a crash would (tests). */
  abandon(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.active.values()) c.abort(abandoned);
  }

  /** One pass: read the work, claim what is due, start it. Exposed for tests and "run now" latency. */
  async tick(): Promise<void> {
    const work = await this.deps.client.work();
    const now = Date.parse(work.now);
    const byId = new Map(work.schedules.map((s) => [s.id, s]));
    const open = new Set(work.open_runs.map((r) => r.schedule));
    const claims: { schedule: ScheduleView; at: number; seen: number; overlap: boolean }[] = [];
    for (const s of work.schedules) {
      if (s.paused) continue;
      const at = latestOccurrence(s.cron, s.timezone, now, Date.parse(s.active_since));
      if (at !== undefined && (s.last_occurrence === null || at > Date.parse(s.last_occurrence))) claims.push({ schedule: s, at, seen: 0, overlap: open.has(s.id) });
    }
    for (const r of work.open_runs) {
      const s = byId.get(r.schedule);
      if (!s || this.active.has(key(r.schedule, r.occurrence))) continue;
      const due =
        r.status === "pending" || (r.status === "retry_wait" && Date.parse(r.next_attempt_at ?? "") <= now) || (r.status === "running" && Date.parse(r.lease_until ?? "") < now);
      if (due) claims.push({ schedule: s, at: Date.parse(r.occurrence), seen: r.attempt, overlap: false });
    }
    for (const c of claims) {
      if (this.stopped) return;
      let run: ScheduleRunView;
      try {
        run = await this.deps.client.claim(c.schedule.id, c.at, { runner: this.deps.runner, lease_ms: this.deps.leaseMs, seen_attempt: c.seen });
      } catch (err) {
        if (err instanceof ApiError && (err.code === "conflict" || err.code === "not_found")) continue; // another trainer has it
        throw err;
      }
      const done = this.execute(c.schedule, run, c.overlap).catch((err: unknown) => this.note(`schedule ${c.schedule.id} @ ${run.occurrence}: ${(err as Error).message}`));
      this.finished.add(done);
      void done.finally(() => this.finished.delete(done));
    }
  }

  private loop(): void {
    if (this.stopped) return;
    this.ticking = this.tick()
      .then(() => {
        this.lastError = "";
      })
      .catch((err: unknown) => this.note(`schedules: ${(err as Error).message}`))
      .finally(() => {
        this.ticking = undefined;
        if (!this.stopped) this.timer = setTimeout(() => this.loop(), this.deps.tickMs);
      });
  }

  /** Logs an error once until it changes, so a control plane that is down does not flood the log. */
  private note(line: string): void {
    if (line === this.lastError) return;
    this.lastError = line;
    (this.deps.log ?? console.warn)(line);
  }

  private async execute(schedule: ScheduleView, run: ScheduleRunView, overlap: boolean): Promise<void> {
    const { client, runner, leaseMs } = this.deps;
    const at = Date.parse(run.occurrence);
    const k = key(schedule.id, run.occurrence);
    const controller = new AbortController();
    this.active.set(k, controller);
    const attempt = run.attempt;
    const report = (body: Parameters<ScheduleClient["report"]>[2]) => client.report(schedule.id, at, body);
    let fingerprint: string | undefined;
    // Renew the lease well before it runs out; a refusal means another trainer took the run over.
    const heartbeat = setInterval(() => {
      if (controller.signal.aborted) return clearInterval(heartbeat);
      report({ status: "running", runner, attempt, lease_ms: leaseMs }).catch((err: unknown) => {
        if (err instanceof ApiError && err.code === "conflict") controller.abort(lost);
      });
    }, Math.max(100, Math.floor(leaseMs / 3)));
    try {
      if (overlap) {
        await report({ status: "skipped", runner, attempt, result: { skipped: "the previous run of this schedule was still open" } });
        return;
      }
      if (schedule.trigger) {
        const verdict = await this.deps.evaluateTrigger(schedule.trigger, schedule.last_success_fingerprint);
        fingerprint = verdict.fingerprint;
        // "Run now" runs whatever the data says; a cron occurrence waits for new data.
        if (!verdict.run && run.reason === "cron") {
          await report({ status: "skipped", runner, attempt, result: { skipped: verdict.detail } });
          return;
        }
      }
      const result: unknown = await this.deps.execute({
        schedule,
        run,
        occurrence: at,
        attempt,
        signal: controller.signal,
        setJob: (id) => report({ status: "running", runner, attempt, lease_ms: leaseMs, job_id: id }).then(() => undefined),
      });
      // A run taken over meanwhile (or a "crashed" scheduler) must not report, whatever the task did.
      if (controller.signal.reason === lost || controller.signal.reason === abandoned) return;
      await report({ status: "succeeded", runner, attempt, result: result ?? null, ...(fingerprint ? { fingerprint } : {}) });
    } catch (err) {
      const reason = controller.signal.reason;
      if (reason === lost || reason === abandoned) return; // someone else owns the run now, or we "crashed"
      await report({ status: "failed", runner, attempt, error: (err instanceof Error ? err.message : String(err)).slice(0, 2000), retry: true });
    } finally {
      clearInterval(heartbeat);
      this.active.delete(k);
    }
  }
}

const lost = new Error("the run's lease was lost to another trainer");
const abandoned = new Error("abandoned");
