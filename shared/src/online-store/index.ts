// The online feature store's contract: one row per (feature view, entity), with the time its
// values were computed. Drivers (Upstash Redis, Workers KV) implement `OnlineStore`; the trainer
// writes rows through the same drivers, the gateway reads them.
import { z } from "zod";
import { featureValueSchema } from "../schemas/common.ts";

export const onlineRowSchema = z.object({
  /** When the values were computed (epoch ms); older than the view's max age means missing. */
  ts: z.number(),
  values: z.record(z.string(), featureValueSchema),
});
export type OnlineRow = z.infer<typeof onlineRowSchema>;

export interface OnlineStore {
  readonly name: string;
  /** Reads every key in one round trip; a missing or unreadable row is `undefined`. */
  getMany(keys: readonly string[]): Promise<(OnlineRow | undefined)[]>;
  putMany(rows: readonly { key: string; row: OnlineRow }[]): Promise<void>;
}

export function onlineKey(view: string, entity: string): string {
  return `fv:${view}:${entity}`;
}

/** Where batch inference writes a version's prediction for an entity (values = the outputs). */
export function predictionKey(model: string, version: number, entity: string): string {
  return `pred:${model}:${version}:${entity}`;
}

/** Parses a stored row; anything else reads as missing rather than failing the request. */
export function parseOnlineRow(raw: unknown): OnlineRow | undefined {
  const value = typeof raw === "string" ? safeJson(raw) : raw;
  const parsed = onlineRowSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
