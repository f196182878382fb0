// Where the log lake keeps things in its bucket: `logs/{model}/{YYYY-MM-DD}/{HH}/` partitions of
// gzipped NDJSON (one object per shard fold and hour), `spill/` for records gateways could not
// queue, `dead/` for dead batches. Any engine that reads R2 through its S3 API can read
// `logs/{model}/{date}/*/*.ndjson.gz` directly.
import type { ShardRef } from "../rollups/shard-types.ts";

export const LAKE_PREFIX = "logs/";
export const SPILL_PREFIX = "spill/";
export const DEAD_PREFIX = "dead/";
export const HOUR_MS = 3_600_000;

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** `logs/{model}/{YYYY-MM-DD}/` */
export function datePrefix(model: string, day: number): string {
  return `${LAKE_PREFIX}${model}/${new Date(day * 86_400_000).toISOString().slice(0, 10)}/`;
}

/** `logs/{model}/{YYYY-MM-DD}/{HH}/` for an hour counted since the epoch. */
export function hourPrefix(model: string, hour: number): string {
  const at = new Date(hour * HOUR_MS);
  return `${datePrefix(model, Math.floor(hour / 24))}${pad(at.getUTCHours(), 2)}/`;
}

/** One fold's records of one hour: named by shard and the shard's own sequence, so a retried write is the same object. */
export function lakeKey(shard: ShardRef, hour: number, seq: number): string {
  return `${hourPrefix(shard.model, hour)}${shard.day}-${shard.sub}-${pad(seq, 10)}.ndjson.gz`;
}
