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
/** Keep each message well under the Queues limit of 128 KB. */
export const MAX_MESSAGE_BYTES = 96 * 1024;

/** The records in a message body, whichever shape it has. */
export function recordsOf(body: unknown): unknown[] {
  const envelope = logEnvelopeSchema.safeParse(body);
  return envelope.success ? envelope.data.records : [body];
}
