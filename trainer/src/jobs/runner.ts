// Runs jobs in submission order, at most `concurrency` at once. Every state change is written
// before it is announced; a restart marks jobs that were running as failed (with the phase they
// were in) and runs the queued ones. A job may park between steps (the deploy step's shadow
// period): it gives its slot back, a timer puts it in the queue again when the wait is over, and a
// restart sets that timer again from the persisted record.
import { ApiError, sha256Hex, type JobEvent, type JobPhase, type JobView, type SubmitJob } from "@verge/shared";
import { JobStore, type JobRecord, type WaitingStep } from "./store.ts";

const TERMINAL: ReadonlySet<JobPhase> = new Set(["succeeded", "failed", "cancelled"]);
export const isTerminal = (phase: JobPhase) => TERMINAL.has(phase);

/** What a pipeline sees of its job. */
export interface JobHandle {
  id: string;
  spec: SubmitJob;
  signal: AbortSignal;
  /** The job's own folder, for reports and artifacts. */
  dir: string;
  store: JobStore;
  phase(phase: JobPhase, progress: number, message?: string): void;
  progress(progress: number, message?: string): void;
  /** Merges fields into the job's view (metrics, validation report, version…) and persists it. */
  record(fields: Partial<Pick<JobView, "metrics" | "version" | "staged" | "validation" | "evaluation" | "deployment">>): void;
  /** Parks the job once its pipeline returns: its slot is freed until `step`'s wait is over. */
  wait(step: WaitingStep): void;
}

export type Pipeline = (job: JobHandle) => Promise<void>;
/** Runs the step a parked job waited for. */
export type Resume = (job: JobHandle, step: WaitingStep) => Promise<void>;

/** setTimeout's longest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A failure the job reports as its reason (bad data, failed validation…), not a crash. */
export class JobFailure extends Error {}

type Listener = (event: JobEvent, view: JobView) => void;

export class JobRunner {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly queue: string[] = [];
  private readonly running = new Map<string, AbortController>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly seq = new Map<string, number>();
  private readonly lastWrite = new Map<string, number>();
  private readonly idle: (() => void)[] = [];
  /** Parked jobs' wake-up timers. */
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly store: JobStore,
    private readonly pipeline: Pipeline,
    private readonly concurrency: number,
    /** Called for jobs found mid-run at startup, before they are marked failed (e.g. to reconcile a registration). */
    private readonly recover: (record: JobRecord) => Promise<Partial<JobView> | undefined> = async () => undefined,
    private readonly resume: Resume = async () => {
      throw new JobFailure("this trainer cannot resume a parked job");
    },
  ) {}

  /** Loads persisted jobs: interrupted ones fail with their reason, queued ones run again. */
  async start(): Promise<void> {
    for (const record of this.store.loadAll()) {
      this.jobs.set(record.view.id, record);
      this.seq.set(record.view.id, this.store.events(record.view.id).at(-1)?.seq ?? 0);
      const { phase } = record.view;
      if (phase === "queued") this.queue.push(record.view.id);
      else if (!isTerminal(phase) && record.waiting) this.park(record);
      else if (!isTerminal(phase)) {
        const recovered = await this.recover(record).catch(() => undefined);
        if (recovered?.phase === "succeeded") this.transition(record, { ...recovered, progress: 1, finished_at: now() }, "recovered: the registration had completed before the trainer stopped");
        else this.transition(record, { phase: "failed", finished_at: now(), error: `interrupted: the trainer stopped while the job was ${phase}; submit it again (with a new id) to retry` }, "interrupted by a restart");
      }
    }
    this.pump();
  }

  async submit(spec: SubmitJob): Promise<{ view: JobView; created: boolean }> {
    const specHash = await sha256Hex(new TextEncoder().encode(JSON.stringify(spec)));
    const id = spec.id ?? crypto.randomUUID();
    const existing = this.jobs.get(id);
    if (existing) {
      if (existing.specHash !== specHash) throw new ApiError("conflict", `id: job "${id}" exists with a different body; choose a new id`);
      return { view: existing.view, created: false };
    }
    const record: JobRecord = { spec: { ...spec, id }, specHash, view: { id, model: spec.model, algorithm: spec.algorithm, phase: "queued", progress: 0, created_at: now() } };
    this.jobs.set(id, record);
    this.seq.set(id, 0);
    this.store.save(record);
    this.emit(record, "queued");
    this.queue.push(id);
    this.pump();
    return { view: record.view, created: true };
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((r) => r.view).reverse();
  }

  get(id: string): JobView {
    const record = this.jobs.get(id);
    if (!record) throw new ApiError("not_found", `no job "${id}"`);
    return record.view;
  }

  events(id: string): JobEvent[] {
    this.get(id);
    return this.store.events(id);
  }

  cancel(id: string): JobView {
    const record = this.jobs.get(id);
    if (!record) throw new ApiError("not_found", `no job "${id}"`);
    if (isTerminal(record.view.phase)) throw new ApiError("conflict", `job "${id}" has already ${record.view.phase}`);
    const controller = this.running.get(id);
    if (controller) controller.abort(new JobFailure("cancelled by request"));
    else {
      clearTimeout(this.timers.get(id));
      this.timers.delete(id);
      delete record.waiting;
      const queued = this.queue.indexOf(id);
      if (queued !== -1) this.queue.splice(queued, 1);
      this.transition(record, { phase: "cancelled", finished_at: now() }, "cancelled before it started");
      this.settle();
    }
    return record.view;
  }

  /** Calls `listener` for each new event of the job until it ends; returns an unsubscribe. */
  subscribe(id: string, listener: Listener): () => void {
    this.get(id);
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves when no job is running, queued or parked (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private isIdle(): boolean {
    return this.running.size === 0 && this.queue.length === 0 && this.timers.size === 0;
  }

  private settle(): void {
    if (this.isIdle()) this.idle.splice(0).forEach((r) => r());
  }

  /**
   * Stops taking jobs and aborts the running ones (they end as failed: interrupted). Parked jobs
   * stay parked on disk; the next start sets their timers again.
   */
  async close(): Promise<void> {
    this.queue.length = 0;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const c of this.running.values()) c.abort(new JobFailure("interrupted: the trainer is shutting down"));
    await this.whenIdle();
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const record = this.jobs.get(id)!;
      const controller = new AbortController();
      this.running.set(id, controller);
      // Nothing a job does may reject out of here: an unhandled rejection would end the trainer.
      void this.run(record, controller)
        .catch((err: unknown) => this.failWithoutDisk(record, `internal error: ${(err as Error).message ?? String(err)}`, err))
        .finally(() => {
          this.running.delete(id);
          this.pump();
          this.settle();
        });
    }
  }

  /** Wakes the job when its wait is over (at once if it already is), without holding a slot. */
  private park(record: JobRecord): void {
    const id = record.view.id;
    const left = Date.parse(record.waiting!.shadow_until) - Date.now();
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (left > MAX_TIMER_MS) return this.park(record);
      this.queue.push(id);
      this.pump();
    }, Math.max(0, Math.min(left, MAX_TIMER_MS)));
    // A parked job alone does not keep the process alive.
    timer.unref?.();
    this.timers.set(id, timer);
  }

  private async run(record: JobRecord, controller: AbortController): Promise<void> {
    const id = record.view.id;
    const resuming = record.waiting;
    if (resuming) this.transition(record, {}, `the shadow period is over: resuming (${resuming.step})`);
    else this.transition(record, { phase: "loading", started_at: now() }, "started");
    let parked: WaitingStep | undefined;
    const handle: JobHandle = {
      id,
      spec: record.spec,
      signal: controller.signal,
      dir: this.store.dir(id),
      store: this.store,
      phase: (phase, progress, message) => this.transition(record, { phase, progress }, message),
      progress: (progress, message) => this.progress(record, progress, message),
      record: (fields) => {
        Object.assign(record.view, fields);
        this.store.save(record);
      },
      wait: (step) => {
        parked = step;
      },
    };
    try {
      if (resuming) {
        await this.resume(handle, resuming);
        delete record.waiting;
      } else await this.pipeline(handle);
      if (parked) {
        // Written before the slot is given back: a restart from here resumes the wait.
        record.waiting = parked;
        this.transition(record, {}, `waiting until ${parked.shadow_until} (shadow period), then: ${parked.step}`);
        this.park(record);
        return;
      }
      this.transition(record, { phase: "succeeded", progress: 1, finished_at: now() }, record.view.version ? `registered version ${record.view.version}` : "done");
    } catch (err) {
      const cancelled = controller.signal.aborted && controller.signal.reason instanceof JobFailure && controller.signal.reason.message === "cancelled by request";
      const reason = err instanceof JobFailure || err instanceof ApiError ? err.message : `internal error: ${(err as Error).message ?? String(err)}`;
      delete record.waiting;
      try {
        this.transition(record, { phase: cancelled ? "cancelled" : "failed", finished_at: now(), ...(cancelled ? {} : { error: reason }) }, cancelled ? "cancelled" : reason);
      } catch (writeErr) {
        this.failWithoutDisk(record, reason, writeErr);
      }
    }
  }

  /**
   * The job's end when its state cannot be written (a full disk): failed in memory, with both
   * reasons, so clients see why; a restart finds it mid-run on disk and fails it as interrupted.
   */
  private failWithoutDisk(record: JobRecord, reason: string, writeErr: unknown): void {
    Object.assign(record.view, { phase: "failed", finished_at: now(), error: `${reason}; its state could not be saved (${(writeErr as Error).message ?? String(writeErr)})` });
    for (const l of this.listeners.get(record.view.id) ?? []) {
      try {
        l({ seq: (this.seq.get(record.view.id) ?? 0) + 1, at: now(), phase: "failed", progress: record.view.progress, message: record.view.error! }, record.view);
      } catch {
        // a listener's failure is its own
      }
    }
    this.listeners.delete(record.view.id);
  }

  private transition(record: JobRecord, fields: Partial<JobView>, message?: string): void {
    Object.assign(record.view, fields, message ? { message } : {});
    this.store.save(record);
    this.lastWrite.set(record.view.id, Date.now());
    this.emit(record, message);
  }

  /** Progress within a phase: announced every time, written to disk at most every 250 ms. */
  private progress(record: JobRecord, progress: number, message?: string): void {
    record.view.progress = Math.max(record.view.progress, Math.min(1, progress));
    if (message) record.view.message = message;
    if (Date.now() - (this.lastWrite.get(record.view.id) ?? 0) >= 250) {
      this.store.save(record);
      this.lastWrite.set(record.view.id, Date.now());
      this.emit(record, message);
    }
  }

  private emit(record: JobRecord, message?: string): void {
    const id = record.view.id;
    const seq = (this.seq.get(id) ?? 0) + 1;
    this.seq.set(id, seq);
    const event: JobEvent = { seq, at: now(), phase: record.view.phase, progress: record.view.progress, ...(message ? { message } : {}) };
    this.store.appendEvent(id, event);
    for (const l of this.listeners.get(id) ?? []) l(event, record.view);
    if (isTerminal(record.view.phase)) this.listeners.delete(id);
  }
}

const now = () => new Date().toISOString();
