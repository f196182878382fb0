// The origin node's configuration, parsed once from the environment.
import { nameSchema } from "@verge/shared";
import { z } from "zod";

const configSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65_535).default(8789),
  HOST: z.string().default("127.0.0.1"),
  /** The control plane, for model metadata and artifacts, and for registering trained versions. */
  VERGE_CONTROL_PLANE_URL: z.url().default("http://127.0.0.1:8788"),
  /** A control-plane token: viewer is enough to serve; operator is needed to register and stage versions. */
  VERGE_CONTROL_PLANE_TOKEN: z.string().min(1),
  /** Shared with gateways: requests must be signed with it. */
  VERGE_ORIGIN_SECRET: z.string().min(16, "must be at least 16 characters"),
  /** Bearer token for the trainer's own API (jobs, materialization, batch predictions); unset, that API is off and the node only serves. */
  VERGE_TRAINER_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** `auto` uses CUDA when its libraries load, else CPU; `cpu` or `cuda` force one. */
  VERGE_EXECUTION_PROVIDER: z.enum(["auto", "cpu", "cuda"]).default("auto"),
  /** Dynamic batching: the most rows merged into one run, and how long a request may wait for company. */
  VERGE_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(4096).default(64),
  VERGE_MAX_QUEUE_DELAY_MS: z.coerce.number().min(0).max(1000).default(2),
  /** Per-model batching overrides, as JSON: `{"churn":{"max_batch_size":32,"max_queue_delay_ms":1}}`. */
  VERGE_BATCHING: z
    .string()
    .default("{}")
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON object" });
        return z.NEVER;
      }
    })
    .pipe(z.record(nameSchema, z.strictObject({ max_batch_size: z.number().int().min(1).max(4096).optional(), max_queue_delay_ms: z.number().min(0).max(1000).optional() }))),
  /** The offline store: a local folder, or an `s3://bucket/prefix` on S3-compatible storage (R2). */
  VERGE_OFFLINE_ROOT: z.string().min(1).default(".verge/offline"),
  VERGE_S3_ENDPOINT: z.string().optional(),
  VERGE_S3_REGION: z.string().default("auto"),
  VERGE_S3_ACCESS_KEY_ID: z.string().optional(),
  VERGE_S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Where DuckDB keeps its extensions (httpfs, for S3); DuckDB's own default (~/.duckdb/extensions) when unset. */
  VERGE_DUCKDB_EXTENSION_DIR: z.string().min(1).optional(),
  /** Where DuckDB installs missing extensions from: a mirror, for nodes without internet access. */
  VERGE_DUCKDB_EXTENSION_REPOSITORY: z.string().min(1).optional(),
  /** Where jobs, their reports and artifacts, and materialization watermarks are kept. */
  VERGE_TRAINER_STATE: z.string().min(1).default(".verge/trainer"),
  /** Recorded as each trained version's `code_version`; the git commit when unset. */
  VERGE_CODE_VERSION: z.string().max(256).optional(),
  /** Where the control plane reaches this trainer (alert webhooks); `http://HOST:PORT` when unset. */
  VERGE_TRAINER_PUBLIC_URL: z.url().optional(),
  /** Jobs running at once; the rest wait in order. */
  VERGE_JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** The online store that materialization and batch inference write to. */
  VERGE_ONLINE_STORE: z.enum(["upstash", "none"]).default("none"),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
}).superRefine((c, ctx) => {
  if (c.VERGE_ONLINE_STORE === "upstash" && (!c.UPSTASH_REDIS_REST_URL || !c.UPSTASH_REDIS_REST_TOKEN)) {
    ctx.addIssue({ code: "custom", path: ["UPSTASH_REDIS_REST_URL"], message: "VERGE_ONLINE_STORE=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN" });
  }
});
export type Config = z.infer<typeof configSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
