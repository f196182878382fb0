// One prediction as the gateway logs it and the control plane's consumer folds it.
import { z } from "zod";
import { featureValueSchema } from "./common.ts";
import { degradedSchema, outputsSchema } from "./predict.ts";

export const logRecordSchema = z.object({
  request_id: z.string(),
  ts: z.number().int(),
  model: z.string(),
  version: z.number().int(),
  variant: z.string(),
  shadow: z.boolean(),
  snapshot_version: z.number().int(),
  unit_hash: z.number().int(),
  features: z.record(z.string(), featureValueSchema),
  outputs: outputsSchema,
  latency_ms: z.object({ total: z.number(), features: z.number(), infer: z.number() }),
  status: z.enum(["ok", "error"]),
  degraded: z.array(degradedSchema),
  colo: z.string(),
  /** With `status: "error"`: why the attempt failed (`unavailable`, `timeout`, `circuit_open`, `artifact`, `runtime`, `non_finite`…). */
  error: z.string().max(64).optional(),
  /** The client key that asked for the prediction. */
  key_id: z.string().max(128).optional(),
  /** What was cut to fit one queue message (`features.<name>`, `features`, `outputs`): the record is still counted. */
  truncated: z.array(z.string().max(256)).max(1100).optional(),
  /** Features dropped or hashed by the model's redaction list before the record left the gateway. */
  redacted: z.array(z.string().max(256)).max(1100).optional(),
  /** Request feature names the version's spec does not have (see `ignoredSchema`). */
  unknown_features: z.array(z.string().max(256)).max(1100).optional(),
  /** Categorical features whose value was outside the vocabulary. */
  out_of_vocabulary: z.array(z.string().max(256)).max(1100).optional(),
});
export type LogRecord = z.infer<typeof logRecordSchema>;

/** The identity a record is counted once under: redeliveries share it. */
export function logRecordKey(r: Pick<LogRecord, "request_id" | "shadow" | "model" | "version">): string {
  return `${r.model}|${r.version}|${r.shadow ? 1 : 0}|${r.request_id}`;
}

/**
 * A queue message carries one record, or an envelope of many: gateways pack up to 100 records
 * per message, so one consumer batch (100 messages) folds up to 10,000 records at once.
 */
export const logEnvelopeSchema = z.object({ records: z.array(z.unknown()).min(1).max(1000) });

export const MAX_RECORDS_PER_MESSAGE = 100;
/**
 * A message's size in UTF-8 bytes of its JSON, kept well under the Queues limit of 128 KB (which
 * counts bytes, not characters: a Japanese character is three bytes).
 */
export const MAX_MESSAGE_BYTES = 96 * 1024;

/** The records in a message body, whichever shape it has. */
export function recordsOf(body: unknown): unknown[] {
  const envelope = logEnvelopeSchema.safeParse(body);
  return envelope.success ? envelope.data.records : [body];
}
