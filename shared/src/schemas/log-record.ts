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
