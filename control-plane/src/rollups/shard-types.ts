// What the consumer, the readers and the cron exchange with a rollup shard (over Durable Object RPC).
import type { WindowRollup } from "@verge/shared";
import type { ShardFold } from "./fold.ts";

/** Which shard: one model, one UTC day (days since the epoch), one hash sub-shard of it. */
export interface ShardRef {
  model: string;
  day: number;
  sub: number;
}

/** Gzipped NDJSON of a fold's records for one lake partition hour (hours since the epoch). */
export interface LakePart {
  hour: number;
  body: ArrayBuffer;
  records: number;
}

export interface FoldRequest {
  shard: ShardRef;
  fold: ShardFold;
  lake: LakePart[];
}

/**
 * `counted`: every record was new and is now counted (and on its way to the lake);
 * `duplicate`: every record was counted before; `partial`: some were, nothing was written, and
 * the caller folds again with `fresh` (the indexes of the new ones) alone; `expired`: the shard
 * no longer holds every identity of its day (past the dedup horizon), so it cannot count exactly.
 */
export type FoldResult =
  | { status: "counted"; counted: number; ms: number }
  | { status: "duplicate"; duplicates: number; ms: number }
  | { status: "partial"; fresh: number[]; ms: number }
  | { status: "expired"; ms: number };

export interface LabelItem {
  target: string;
  label: number;
  ts: number;
}

/** `applied`: the first label of this prediction; `error` is its binary error (null when not a 0/1 label on a [0, 1] score). */
export type LabelOutcome = { status: "applied"; version: number; error: 0 | 1 | null } | { status: "duplicate" } | { status: "conflict" } | { status: "missing" };

export type RollupPart = keyof WindowRollup;

export interface ShardQuery {
  /** Minutes since the epoch: [from, to). */
  from: number;
  to: number;
  /** Group by this many minutes; one total when absent. */
  step?: number | undefined;
  version?: number | undefined;
  parts: RollupPart[];
}

export interface MaintenancePolicy {
  now: number;
  /** How long identities are kept after the shard's day ends: the queue's redelivery window. */
  horizonMs: number;
  /** How long predictions can still be labelled after the shard's day ends. */
  feedbackWindowMs: number;
  /** When the whole shard goes; 0 keeps it. */
  retentionMs: number;
}

export interface MaintenanceResult {
  /** When maintenance is next due (epoch ms); null once the shard is deleted. */
  next: number | null;
  deleted: boolean;
}

/** Rows of the D1 legacy tables bound for one shard, moved once per chunk id. */
export interface LegacyChunk {
  counts: [t: number, version: number, variant: string, shadow: 0 | 1, count: number, errors: number, latencySum: number, latencyMax: number][];
  latency: [t: number, version: number, variant: string, shadow: 0 | 1, bucket: number, count: number][];
  bins: [t: number, version: number, feature: string, bin: number, count: number][];
  predictions: [target: string, version: number, shadow: 0 | 1, minute: number, variant: string, error: 0 | 1, score: number | null][];
  labels: LabelItem[];
}

export interface ShardStats {
  predictions: number;
  labelled: number;
  rollupRows: number;
  outbox: number;
  bytes: number;
  pruned: boolean;
  joinsDropped: boolean;
  /** The distinct times (minutes) of the shard's count rows: shows how far compaction went. */
  times: number[];
}

export const DAY_MS = 86_400_000;
export const dayOf = (ts: number) => Math.floor(ts / DAY_MS);
