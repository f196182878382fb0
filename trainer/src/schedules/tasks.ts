// What a scheduled run does, per task kind. Training goes through the job runner (the same
// pipeline as a submitted job: validation, evaluation gate, optional deploy), with a job id made
// from the schedule, occurrence and attempt; a later attempt first looks in the registry for a
// version an earlier attempt registered (its lineage names the job), so a run interrupted after
// registering is recorded as done rather than trained twice.
import { isLogsDataset, submitJobSchema, type BatchPredictionsRequest, type DatasetSpec, type JobView, type MaterializeRequest } from "@verge/shared";
import { isTerminal, type JobRunner } from "../jobs/runner.ts";
import type { RegistryClient } from "../registry/client.ts";
import type { RunContext } from "./scheduler.ts";

export interface TaskDeps {
  runner: JobRunner;
  registry: Pick<RegistryClient, "versions" | "alias">;
  materialize(request: MaterializeRequest): Promise<unknown>;
  batchPredictions(request: BatchPredictionsRequest): Promise<unknown>;
}

/** `sched-<schedule>-<occurrence ms>-<attempt>`, within the job id's 64 characters. */
export const scheduledJobId = (schedule: string, occurrence: number, attempt: number) => `sched-${schedule.slice(0, 36)}-${occurrence}-${attempt}`;

export async function executeTask(ctx: RunContext, deps: TaskDeps): Promise<unknown> {
  const { task } = ctx.schedule;
  if (task.kind === "materialize") return deps.materialize(task.request);
  if (task.kind === "batch_predictions") {
    const { alias, version, ...rest } = task.request;
    const resolved = version ?? (await deps.registry.alias(rest.model, alias!));
    if (resolved === undefined) throw new Error(`batch predictions: ${rest.model} has no alias "${alias}"`);
    return { version: resolved, ...((await deps.batchPredictions({ ...rest, version: resolved })) as object) };
  }

  const earlier = ctx.run.attempts.filter((a) => a.attempt < ctx.attempt).map((a) => a.job_id ?? scheduledJobId(ctx.schedule.id, ctx.occurrence, a.attempt));
  if (earlier.length) {
    const registered = (await deps.registry.versions(task.job.model)).find((v) => v.lineage?.parent_job !== undefined && earlier.includes(v.lineage.parent_job));
    if (registered) return { recovered: true, job: registered.lineage!.parent_job, version: registered.version };
  }
  const id = scheduledJobId(ctx.schedule.id, ctx.occurrence, ctx.attempt);
  const spec = submitJobSchema.parse({
    ...task.job,
    id,
    dataset: datasetFor(task.job.dataset, ctx.occurrence, task.lookback_days),
    reason: `schedule ${ctx.schedule.id}, ${ctx.run.reason} run of ${ctx.run.occurrence}${task.job.reason ? `: ${task.job.reason}` : ""}`.slice(0, 500),
  });
  await deps.runner.submit(spec);
  await ctx.setJob(id);
  const view = await finished(deps.runner, id, ctx.signal);
  if (view.phase !== "succeeded") throw new Error(`job ${id} ${view.phase}${view.error ? `: ${view.error}` : ""}`);
  return { job: id, version: view.version, metrics: pick(view.metrics, ["auc", "rmse", "production_auc", "production_rmse", "train_rows", "holdout_rows"]), ...(view.deployment ? { deployment: view.deployment } : {}) };
}

/**
 * The run's dataset: with a lookback, label events from that many days before the occurrence
 * (tables: `since`), or the served logs of the window that ends at the occurrence (logs).
 */
export function datasetFor(dataset: DatasetSpec, occurrence: number, lookbackDays: number | undefined): DatasetSpec {
  if (lookbackDays === undefined) return dataset;
  const from = Math.max(0, Math.floor(occurrence - lookbackDays * 86_400_000));
  return isLogsDataset(dataset) ? { ...dataset, logs: { ...dataset.logs, from, to: occurrence } } : { ...dataset, since: from };
}

/** Resolves with the job's final view; cancels it if the run is aborted (lease lost, shutdown). */
function finished(runner: JobRunner, id: string, signal: AbortSignal): Promise<JobView> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      try {
        runner.cancel(id);
      } catch {
        // already over
      }
      reject(signal.reason as Error);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    const done = (view: JobView) => {
      signal.removeEventListener("abort", onAbort);
      unsubscribe();
      resolve(view);
    };
    const unsubscribe = runner.subscribe(id, (_event, view) => {
      if (isTerminal(view.phase)) done(view);
    });
    // It may have ended before the subscription.
    const now = runner.get(id);
    if (isTerminal(now.phase)) done(now);
  });
}

function pick(values: Record<string, number> | undefined, keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.filter((k) => values?.[k] !== undefined).map((k) => [k, values![k]!]));
}
