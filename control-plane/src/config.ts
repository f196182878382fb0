// The control plane's settings, parsed once per isolate from its vars (wrangler.toml).
import { z } from "zod";
import { numberFromText, workerConfig } from "@verge/shared/config";

const schema = z.object({
  /** Largest artifact accepted for an `edge` version (a worker must hold it in memory). */
  EDGE_ARTIFACT_MAX_BYTES: numberFromText(32 * 1024 * 1024, { int: true, min: 1 }),
  /** Webhook retries back off from this delay, doubling each attempt. */
  ALERT_RETRY_BASE_MS: numberFromText(30_000, { min: 0 }),
  /** How long counted record identities are kept: the dedup horizon and the feedback join window. */
  INGESTED_RETENTION_DAYS: numberFromText(14, { min: 1 }),
});

export type ControlPlaneConfig = z.infer<typeof schema>;

export const controlPlaneConfig: (env: Env) => ControlPlaneConfig = workerConfig(schema);
