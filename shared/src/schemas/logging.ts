// Contracts of the logging path: the log lake query and settings, redaction, dead letters, the move out of D1.
import { z } from "zod";
import { nameSchema, versionNumberSchema } from "./common.ts";
import { logRecordSchema } from "./log-record.ts";

/** A time in a query string: epoch milliseconds or an ISO date. */
export const queryTimeSchema = z.union([z.coerce.number().int(), z.iso.datetime()]);

export const LOGS_PAGE = { default: 1000, max: 10_000 } as const;

/** `GET /v1/models/{model}/logs`: records as served, as NDJSON, a page at a time. */
export const logsQuerySchema = z.object({
  /** Window start and end (epoch ms or ISO); defaults to the last hour. */
  from: queryTimeSchema.optional(),
  to: queryTimeSchema.optional(),
  version: versionNumberSchema.optional(),
  variant: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(LOGS_PAGE.max).default(LOGS_PAGE.default),
  /** The `x-verge-next-cursor` of the previous page. */
  cursor: z.string().max(2048).optional(),
  /** `include`: each record carries its `label` (null when unlabelled); `only`: labelled records alone. */
  labels: z.enum(["include", "only"]).optional(),
});
export type LogsQuery = z.infer<typeof logsQuerySchema>;

/** A lake record as the logs route returns it: the log record, plus its feedback when `labels` is asked for. */
export const labelledLogRecordSchema = logRecordSchema.extend({
  /** The prediction's label (the first one given), null when it has none (shadows and errors never do). */
  label: z.number().nullable().optional(),
  /** When the labelled outcome happened (epoch ms). */
  label_ts: z.number().nullable().optional(),
});
export interface LabelledFields {
  label: number | null;
  label_ts: number | null;
}

/** How one feature is redacted before a record is stored: dropped, or replaced by a salted sha256. */
export const redactionSchema = z.object({
  feature: z.string().min(1).max(128),
  mode: z.enum(["drop", "hash"]),
});
export type Redaction = z.infer<typeof redactionSchema>;

/** `PUT /v1/models/{model}/log-settings`. */
export const logSettingsSchema = z
  .object({
    /** Features dropped or hashed at the gateway, before the record is queued or stored anywhere. */
    redact: z.array(redactionSchema).max(256).default([]),
    /** Days the model's log lake partitions are kept (the deployment's LOG_RETENTION_DAYS when absent). */
    retention_days: z.number().int().min(1).max(3650).optional(),
    /**
     * Rollup shards per UTC day for this model (a hot model spreads its records over several by a
     * hash of the request id). Applies from the next day that has no shard yet.
     */
    subshards: z.number().int().min(1).max(64).optional(),
  })
  .strict()
  .refine((s) => new Set(s.redact.map((r) => r.feature)).size === s.redact.length, { message: "each feature may be listed once", path: ["redact"] });
export type LogSettings = z.infer<typeof logSettingsSchema>;

/** What `GET|PUT /v1/models/{model}/log-settings` answer: the settings in force, defaults filled in. */
export const logSettingsViewSchema = z.object({
  model: nameSchema,
  redact: z.array(redactionSchema),
  retention_days: z.number().int(),
  subshards: z.number().int(),
});

export const deadLetterQueueSchema = z.enum(["prediction-logs", "feedback"]);
export type DeadLetterQueue = z.infer<typeof deadLetterQueueSchema>;

/** `GET /v1/dead-letters`. */
export const deadLettersQuerySchema = z.object({
  queue: deadLetterQueueSchema.optional(),
  status: z.enum(["dead", "redriven"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** One stored dead batch, as listed. */
export const deadLetterSchema = z.object({
  id: z.string(),
  queue: deadLetterQueueSchema,
  reason: z.string(),
  messages: z.number().int(),
  status: z.enum(["dead", "redriven"]),
  received_at: z.string(),
  redriven_at: z.string().nullable(),
  redriven_by: z.string().nullable(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

/** `POST /v1/dead-letters/{id}/redrive`: the dead letter, now re-driven, and how many messages went back. */
export const redriveResponseSchema = deadLetterSchema.extend({ sent: z.number().int() });

/** The monitoring pipeline's own counters, listed with the dead letters. */
export const pipelineHealthSchema = z.object({
  /** Log records the gateways could not queue, kept in the lake bucket and not yet re-ingested. */
  spill_pending_objects: z.number().int(),
  /** Spilled records re-ingested so far (each counted once, like any other). */
  spill_reingested_records: z.number().int(),
  /** Dead batches not re-driven. */
  dead_batches: z.number().int(),
});

/** `GET /v1/dead-letters`. */
export const deadLettersResponseSchema = z.object({ dead_letters: z.array(deadLetterSchema), health: pipelineHealthSchema });

/** `POST /v1/admin/monitoring-migration`: one chunk of the one-time move out of D1. */
export const monitoringMigrationSchema = z.object({
  /** Rows of each legacy table moved by this call. */
  limit: z.number().int().min(1).max(5000).default(1000),
});
export const monitoringMigrationResultSchema = z.object({
  moved: z.record(z.string(), z.number().int()),
  remaining: z.record(z.string(), z.number().int()),
  done: z.boolean(),
});

export const deadLetterIdParamSchema = z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, "must be a dead letter id") });
export const deadLetterWithBodiesSchema = deadLetterSchema.extend({ bodies: z.array(z.unknown()) });
