// Schedules: recurring pipelines on the trainer (training with its evaluation gate and optional
// deploy, materialization, batch predictions) on a cron expression in a time zone, with retries,
// an optional data trigger, and a run history. Kept by the control plane, run by trainers.
import { z } from "zod";
import { cronProblem } from "../schedule.ts";
import { nameSchema, versionNumberSchema } from "./common.ts";
import { batchPredictionsSchema, materializeSchema, submitJobSchema, tablePathSchema } from "./jobs.ts";

export const scheduleIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be 1–64 lower-case letters, digits, '_' or '-', starting with a letter or digit");

export const retryPolicySchema = z.strictObject({
  /** Attempts per occurrence, the first included. */
  attempts: z.number().int().min(1).max(10).default(3),
  /** Wait before the second attempt; each later wait is `factor` times longer, up to `max_backoff_s`. */
  backoff_s: z.number().min(0.1).max(86_400).default(60),
  factor: z.number().min(1).max(10).default(2),
  max_backoff_s: z.number().min(0.1).max(7 * 86_400).default(3600),
});
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

/** The batch predictions of a schedule name the version directly or through an alias (`production`), read at each run. */
export const scheduledBatchPredictionsSchema = batchPredictionsSchema
  .omit({ version: true })
  .extend({ version: versionNumberSchema.optional(), alias: nameSchema.optional() })
  .refine((b) => (b.version === undefined) !== (b.alias === undefined), { message: "give exactly one of version or alias", path: ["version"] });

export const scheduleTaskSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("train"),
    /** The training job; its id is set per run (`sched-<schedule>-<occurrence>-<attempt>`). */
    job: submitJobSchema.refine((j) => j.id === undefined, { message: "is set per run; leave it out", path: ["id"] }),
    /**
     * Train on the last this many days before the occurrence: label events since then (sets
     * `dataset.since`), or for a logs dataset the served logs of that window (`logs.from`, `logs.to`).
     */
    lookback_days: z.number().positive().max(3650).optional(),
  }),
  z.strictObject({ kind: z.literal("materialize"), request: materializeSchema }),
  z.strictObject({ kind: z.literal("batch_predictions"), request: scheduledBatchPredictionsSchema }),
]);
export type ScheduleTask = z.infer<typeof scheduleTaskSchema>;

/**
 * Run only when something changed since the last successful run; otherwise the occurrence is
 * recorded as skipped. `files`: the set of files a path matches in the offline store, with each
 * one's size and modification time (a new file, a new partition or a rewrite counts).
 * `labelled_logs`: at least `min_new` labelled predictions of the model since the last run.
 */
export const scheduleTriggerSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("files"), path: tablePathSchema }),
  z.strictObject({ kind: z.literal("labelled_logs"), model: nameSchema, min_new: z.number().int().min(1).max(1_000_000_000).default(1) }),
]);
export type ScheduleTrigger = z.infer<typeof scheduleTriggerSchema>;

export const timeZoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat("en-US", { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: "must be an IANA time zone such as UTC or Europe/Paris" },
  );

/** A schedule as stored and shown; `putScheduleSchema` adds the check that the cron reads. */
export const scheduleSpecSchema = z.object({
  description: z.string().max(500).optional(),
  /** Five fields (minute precision) or six (seconds first), as cron and croner read them. */
  cron: z.string().min(1).max(128),
  timezone: timeZoneSchema.default("UTC"),
  task: scheduleTaskSchema,
  trigger: scheduleTriggerSchema.optional(),
  retry: retryPolicySchema.default(retryPolicySchema.parse({})),
  paused: z.boolean().default(false),
});

export const putScheduleSchema = scheduleSpecSchema.superRefine((s, ctx) => {
  const problem = cronProblem(s.cron, s.timezone);
  if (problem) ctx.addIssue({ code: "custom", path: ["cron"], message: problem });
});
export type PutSchedule = z.infer<typeof putScheduleSchema>;

export const runStatusSchema = z.enum(["pending", "running", "retry_wait", "succeeded", "failed", "skipped"]);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const runAttemptSchema = z.object({
  attempt: z.number().int(),
  runner: z.string(),
  started_at: z.string(),
  finished_at: z.string().optional(),
  error: z.string().optional(),
  job_id: z.string().optional(),
});
export type RunAttempt = z.infer<typeof runAttemptSchema>;

/** One occurrence of a schedule (a cron time, or a manual "run now") and its attempts. */
export const scheduleRunViewSchema = z.object({
  schedule: z.string(),
  /** The occurrence's time (ISO): the cron time it stands for, or when "run now" was asked. */
  occurrence: z.string(),
  reason: z.enum(["cron", "manual"]),
  status: runStatusSchema,
  attempt: z.number().int(),
  runner: z.string().optional(),
  lease_until: z.string().optional(),
  next_attempt_at: z.string().optional(),
  /** What the run did (the job, version, rows written…) or why it was skipped. */
  result: z.unknown().optional(),
  error: z.string().optional(),
  /** The data trigger's fingerprint when the run started, compared by the next run. */
  fingerprint: z.string().optional(),
  attempts: z.array(runAttemptSchema),
  created_at: z.string(),
  finished_at: z.string().optional(),
});
export type ScheduleRunView = z.infer<typeof scheduleRunViewSchema>;

export const scheduleViewSchema = scheduleSpecSchema.extend({
  id: z.string(),
  revision: z.number().int(),
  /** Occurrences before this time are never run (set on creation, resume and cron changes). */
  active_since: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The next cron time, or null when paused. */
  next_run_at: z.string().nullable(),
  /** The latest cron occurrence that has a run, so trainers claim only newer ones. */
  last_occurrence: z.string().nullable(),
  /** The fingerprint of the latest successful run, for the data trigger. */
  last_success_fingerprint: z.string().nullable(),
});
export type ScheduleView = z.infer<typeof scheduleViewSchema>;

export const scheduleListSchema = z.object({ schedules: z.array(scheduleViewSchema) });
export const scheduleRunListSchema = z.object({ runs: z.array(scheduleRunViewSchema) });
/** What trainers read each tick: every schedule and the open runs, with the control plane's clock. */
export const scheduleWorkSchema = z.object({ now: z.string(), schedules: z.array(scheduleViewSchema), open_runs: z.array(scheduleRunViewSchema) });
export type ScheduleWork = z.infer<typeof scheduleWorkSchema>;

export const scheduleParamSchema = z.object({ id: scheduleIdSchema });
/** A run of a schedule, by its occurrence in epoch milliseconds. */
export const scheduleRunParamSchema = scheduleParamSchema.extend({ at: z.coerce.number().int().min(0).max(8.64e15) });

/** A trainer's claim on an occurrence or on an open run (manual, retry, or one whose lease expired). */
export const claimRunSchema = z.strictObject({
  runner: z.string().min(1).max(128),
  lease_ms: z.number().int().min(500).max(3_600_000),
  /** For a new cron occurrence: the run does not exist yet. For an open run: the attempt the trainer saw. */
  seen_attempt: z.number().int().min(0).max(100).default(0),
});
export type ClaimRun = z.infer<typeof claimRunSchema>;

export const reportRunSchema = z.discriminatedUnion("status", [
  z.strictObject({ status: z.literal("running"), runner: z.string().min(1).max(128), attempt: z.number().int().min(1), lease_ms: z.number().int().min(500).max(3_600_000), job_id: z.string().max(128).optional(), fingerprint: z.string().max(128).optional() }),
  z.strictObject({ status: z.literal("succeeded"), runner: z.string().min(1).max(128), attempt: z.number().int().min(1), result: z.unknown().optional(), fingerprint: z.string().max(128).optional() }),
  z.strictObject({ status: z.literal("skipped"), runner: z.string().min(1).max(128), attempt: z.number().int().min(1), result: z.unknown().optional() }),
  z.strictObject({ status: z.literal("failed"), runner: z.string().min(1).max(128), attempt: z.number().int().min(1), error: z.string().max(2000), retry: z.boolean().default(true) }),
]);
export type ReportRun = z.infer<typeof reportRunSchema>;

export const runsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });
