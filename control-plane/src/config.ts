// The control plane's settings, parsed once per isolate from its vars (wrangler.toml).
import { z } from "zod";
import { numberFromText, workerConfig } from "@verge/shared/config";

const schema = z.object({
  /** Largest artifact accepted for an `edge` version (a worker must hold it in memory). */
  EDGE_ARTIFACT_MAX_BYTES: numberFromText(32 * 1024 * 1024, { int: true, min: 1 }),
  /** Webhook retries back off from this delay, doubling each attempt. */
  ALERT_RETRY_BASE_MS: numberFromText(30_000, { min: 0 }),
  /**
   * How long a shard keeps the identities of records it counted after its day ends: at least the
   * queues' message retention, past which no record can be delivered again.
   */
  DEDUP_HORIZON_HOURS: numberFromText(96, { min: 1 }),
  /** How long after a prediction's day its feedback can still join it. */
  FEEDBACK_WINDOW_DAYS: numberFromText(14, { int: true, min: 1 }),
  /** A label that found no prediction is retried after this many seconds, doubling. */
  FEEDBACK_RETRY_BASE_S: numberFromText(5, { min: 0 }),
  /** Days the log lake keeps a model's partitions (a model's log settings may override it). */
  LOG_RETENTION_DAYS: numberFromText(30, { int: true, min: 1, max: 3650 }),
  /** Days rollup shards are kept; 0 keeps them. */
  ROLLUP_RETENTION_DAYS: numberFromText(400, { int: true, min: 0 }),
  /** Rollup sub-shards per model and day unless a model's log settings say otherwise. */
  ROLLUP_SUBSHARDS: numberFromText(1, { int: true, min: 1, max: 64 }),
});

export type ControlPlaneConfig = z.infer<typeof schema>;

export const controlPlaneConfig: (env: Env) => ControlPlaneConfig = workerConfig(schema);
