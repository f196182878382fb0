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
  /**
   * The trainer's API takes the control plane's tokens, with their roles. This optional local
   * token is one more, with the operator role (it never runs `command` jobs).
   */
  VERGE_TRAINER_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** How long the control plane's answer about a token is remembered (a revoked token works this long). */
  VERGE_AUTH_CACHE_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
  /**
   * Executables `command` jobs may run (absolute paths, comma-separated; argv[0] must be one of
   * them). Empty, the default: command jobs are off.
   */
  VERGE_COMMAND_ALLOWLIST: z
    .string()
    .default("")
    .transform((text) => text.split(",").map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^\//, "each entry must be an absolute path"))),
  /** `auto` uses CUDA when its libraries load, else CPU; `cpu` or `cuda` force one. */
  VERGE_EXECUTION_PROVIDER: z.enum(["auto", "cpu", "cuda"]).default("auto"),
  /** Dynamic batching: the most rows merged into one run, and how long a request may wait for company. */
  VERGE_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(4096).default(64),
  VERGE_MAX_QUEUE_DELAY_MS: z.coerce.number().min(0).max(1000).default(2),
  /** Requests admitted to the batcher at once (waiting for a batch or running); past it, 503 with Retry-After. */
  VERGE_MAX_QUEUED_REQUESTS: z.coerce.number().int().min(1).max(1_000_000).default(1024),
  /** The memory budget for model sessions, in MiB of artifact bytes (the size proxy); least recently used sessions are evicted past it. */
  VERGE_MODEL_MEMORY_MB: z.coerce.number().positive().max(1_048_576).default(4096),
  /** The largest infer request body read, in bytes (413 past it). */
  VERGE_ORIGIN_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1 << 30).default(16 * 1024 * 1024),
  /** How many signed requests' nonces are remembered inside the replay window (bounds that memory); past it, 503. */
  VERGE_ORIGIN_NONCE_CAPACITY: z.coerce.number().int().min(100).max(10_000_000).default(500_000),
  /** A bearer token that may read `/metrics` without a gateway signature (for a Prometheus scraper); unset, `/metrics` must be signed. */
  VERGE_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
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
  /** Run schedules on this trainer (every replica may: claims in the control plane keep each run to one). */
  VERGE_SCHEDULES: z.enum(["on", "off"]).default("on"),
  /** How often the scheduler looks for due runs, and how long a claimed run's lease lasts without renewal. */
  VERGE_SCHEDULE_TICK_MS: z.coerce.number().int().min(50).max(600_000).default(5000),
  VERGE_SCHEDULE_LEASE_MS: z.coerce.number().int().min(500).max(3_600_000).default(60_000),
  /**
   * The control plane's FEEDBACK_WINDOW_DAYS (how long after its day a prediction can take a
   * label): how far back a `labelled_logs` schedule trigger reads predictions.
   */
  VERGE_FEEDBACK_WINDOW_DAYS: z.coerce.number().int().min(1).max(3650).default(14),
  /** This node's name in run claims and history; the host name when unset. */
  VERGE_TRAINER_ID: z.string().min(1).max(96).regex(/^[\w.:-]+$/, "must be letters, digits, '.', ':', '_' or '-'").optional(),
  /**
   * The online store that materialization and batch inference write to: the gateways' own, so
   * `upstash` when their ONLINE_STORE is upstash, `kv` (through Cloudflare's API) when it is kv.
   */
  VERGE_ONLINE_STORE: z.enum(["upstash", "kv", "none"]).default("none"),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  /** Workers KV through Cloudflare's API: the account, an API token allowed to edit Workers KV, and the gateway's FEATURES namespace id. */
  CLOUDFLARE_ACCOUNT_ID: z.string().min(1).optional(),
  CLOUDFLARE_API_TOKEN: z.string().min(1).optional(),
  VERGE_KV_NAMESPACE_ID: z.string().min(1).optional(),
  /** Another endpoint for Cloudflare's API (the local stack serves a stand-in); Cloudflare's when unset. */
  CLOUDFLARE_BASE_URL: z.url().optional(),
  /** A gateway to check the online store with at start-up (it must read what this trainer writes). */
  VERGE_GATEWAY_URL: z.url().optional(),
  /** How long start-up waits for the gateway to see the probe row (KV takes a moment to propagate). */
  VERGE_ONLINE_STORE_CHECK_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /** The alert webhook this trainer answers, registered once by an admin (POST /v1/webhooks): its id and signing secret. */
  VERGE_ALERT_WEBHOOK_ID: z.string().min(1).optional(),
  VERGE_ALERT_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
}).superRefine((c, ctx) => {
  if (c.VERGE_ONLINE_STORE === "upstash" && (!c.UPSTASH_REDIS_REST_URL || !c.UPSTASH_REDIS_REST_TOKEN)) {
    ctx.addIssue({ code: "custom", path: ["UPSTASH_REDIS_REST_URL"], message: "VERGE_ONLINE_STORE=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN" });
  }
  if (c.VERGE_ONLINE_STORE === "kv" && (!c.CLOUDFLARE_ACCOUNT_ID || !c.CLOUDFLARE_API_TOKEN || !c.VERGE_KV_NAMESPACE_ID)) {
    ctx.addIssue({ code: "custom", path: ["CLOUDFLARE_ACCOUNT_ID"], message: "VERGE_ONLINE_STORE=kv needs CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN and VERGE_KV_NAMESPACE_ID (the gateway's FEATURES namespace)" });
  }
  // Writing features nobody reads is the failure this prevents: the store is checked against a gateway.
  if (c.VERGE_ONLINE_STORE !== "none" && !c.VERGE_GATEWAY_URL) {
    ctx.addIssue({ code: "custom", path: ["VERGE_GATEWAY_URL"], message: `VERGE_ONLINE_STORE=${c.VERGE_ONLINE_STORE} needs VERGE_GATEWAY_URL, to check at start-up that the gateways read this store` });
  }
  if (Boolean(c.VERGE_ALERT_WEBHOOK_ID) !== Boolean(c.VERGE_ALERT_WEBHOOK_SECRET)) {
    ctx.addIssue({ code: "custom", path: ["VERGE_ALERT_WEBHOOK_SECRET"], message: "set VERGE_ALERT_WEBHOOK_ID and VERGE_ALERT_WEBHOOK_SECRET together" });
  }
});

/** Every setting the trainer reads, for the README's table. */
export const CONFIG_KEYS = Object.keys(configSchema.shape);
export type Config = z.infer<typeof configSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
