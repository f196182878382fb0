// The gateway's settings, parsed once per isolate from its vars and secrets (wrangler.toml,
// `wrangler secret put`), so a bad value fails loudly by name instead of becoming NaN.
import { z } from "zod";
import { numberFromText, workerConfig } from "@verge/shared/config";

const schema = z
  .object({
    /** How long an isolate trusts its in-memory snapshot before revalidating. */
    SNAPSHOT_TTL_MS: numberFromText(2000, { min: 0 }),
    /**
     * `on`: isolates share the snapshot through the colo's Cache API before asking the control plane
     * (one call per colo and TTL); `off`: every isolate asks the control plane itself.
     */
    SNAPSHOT_COLO_CACHE: z.enum(["on", "off"]).default("on"),
    /** Online feature reads give up after this long; the request then uses defaults. */
    FEATURE_DEADLINE_MS: numberFromText(50, { min: 1 }),
    /** Rows an isolate keeps for views with `cache_s` (least recently read evicted first). */
    FEATURE_CACHE_ENTRIES: numberFromText(10_000, { min: 1 }),
    /** Logged as the colo when a request carries none (`request.cf.colo` is used in production). */
    COLO: z.string().min(1).default("local"),
    /** Where online features and batch predictions are read: `kv` (the FEATURES namespace) or `upstash`. */
    ONLINE_STORE: z.enum(["kv", "upstash"]).default("kv"),
    UPSTASH_REDIS_REST_URL: z.url().optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
    /**
     * The GPU origin for `origin` versions, comma-separated for several nodes (the `default` pool;
     * more pools in ORIGIN_POOLS, parsed by inference/pools.ts); unset or empty, such versions answer
     * 503 (or fall back).
     */
    ORIGIN_URL: z
      .string()
      .refine((v) => v === "" || v.split(",").every((u) => z.url().safeParse(u.trim()).success), "must be a URL, or several separated by commas")
      .optional(),
    ORIGIN_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    ORIGIN_DEADLINE_MS: numberFromText(2000, { min: 1 }),
    ORIGIN_BREAKER_COOLDOWN_MS: numberFromText(10_000, { min: 0 }),
    /** Benchmarks only: "1" adds POST /__bench/phases (CPU per predict by phase, measured in the isolate). */
    BENCH_PHASES: z.enum(["0", "1"]).default("0"),
    /**
     * How client keys' rate limits are counted: `isolate` (each isolate counts alone; a key gets up
     * to its limit per isolate serving it) or `global` (one Durable Object per key; exact, one
     * round trip to it per request).
     */
    RATE_LIMIT_MODE: z.enum(["isolate", "global"]).default("isolate"),
    /**
     * Artifact bytes of edge sessions an isolate keeps loaded (least recently used out first).
     * Sessions take about their artifact's size in memory, and an isolate has 128 MB in all.
     */
    EDGE_SESSION_BUDGET_BYTES: numberFromText(48 * 1024 * 1024, { min: 1, int: true }),
  })
  .superRefine((c, ctx) => {
    const upstash = Boolean(c.UPSTASH_REDIS_REST_URL || c.UPSTASH_REDIS_REST_TOKEN);
    if (c.ONLINE_STORE === "upstash" && !(c.UPSTASH_REDIS_REST_URL && c.UPSTASH_REDIS_REST_TOKEN)) {
      ctx.addIssue({ code: "custom", path: ["UPSTASH_REDIS_REST_URL"], message: "ONLINE_STORE=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN" });
    }
    // Secrets for a store the gateway would not read are a configuration mistake, not a fallback.
    if (c.ONLINE_STORE === "kv" && upstash) {
      ctx.addIssue({ code: "custom", path: ["ONLINE_STORE"], message: "is kv but UPSTASH_REDIS_REST_* are set: set ONLINE_STORE=upstash, or delete those secrets" });
    }
  });

export type GatewayConfig = z.infer<typeof schema>;

export const gatewayConfig: (env: Env) => GatewayConfig = workerConfig(schema);
