// Both workers in one workerd (through miniflare): D1, R2, KV, the queues (with their dead-letter
// queues) and the rollup shards (SQLite-backed Durable Objects) are local, and the gateway reaches
// the control plane over a service binding, as in production. The bindings mirror the wrangler configs.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Log, LogLevel, Miniflare } from "miniflare";
import { bundleModules, ROOT, WORKERS } from "./build.ts";

export interface StackOptions {
  adminToken: string;
  gatewayToken: string;
  /** Folder for D1, R2 and KV state; in memory when absent. */
  persistTo?: string;
  /** Expose each worker on its own port straight from workerd (no miniflare proxy in the way). */
  ports?: { gateway: number; controlPlane: number };
  snapshotTtlMs?: number;
  alertRetryBaseMs?: number;
  logLevel?: LogLevel;
  /** Receives every line the workers print (benchmarks read the consumer's batch lines). */
  onLogLine?: (line: string) => void;
  /** Extra gateway bindings, e.g. UPSTASH_REDIS_REST_URL/TOKEN to read features from Redis. */
  gatewayBindings?: Record<string, string>;
  /** Control-plane vars over wrangler.toml's (e.g. a shorter FEEDBACK_RETRY_BASE_S in tests). */
  controlPlaneBindings?: Record<string, string>;
  /** Retries before a log or feedback batch goes to its dead-letter queue (wrangler.toml: 10). */
  maxRetries?: number;
}

export const QUEUE = "verge-prediction-logs";
export const FEEDBACK_QUEUE = "verge-feedback";
export const DEAD_LETTER_QUEUES = [`${QUEUE}-dlq`, `${FEEDBACK_QUEUE}-dlq`];

/** The control plane's vars, as in wrangler.toml. */
export const CONTROL_PLANE_VARS = {
  EDGE_ARTIFACT_MAX_BYTES: String(32 * 1024 * 1024),
  ALERT_RETRY_BASE_MS: "30000",
  DEDUP_HORIZON_HOURS: "96",
  FEEDBACK_WINDOW_DAYS: "14",
  FEEDBACK_RETRY_BASE_S: "5",
  LOG_RETENTION_DAYS: "30",
  ROLLUP_RETENTION_DAYS: "400",
  ROLLUP_SUBSHARDS: "1",
};
const COMPAT = { compatibilityDate: "2026-08-01", compatibilityFlags: ["nodejs_compat"] };

export function stackOptions(o: StackOptions) {
  const persist = o.persistTo
    ? { d1Persist: join(o.persistTo, "d1"), r2Persist: join(o.persistTo, "r2"), kvPersist: join(o.persistTo, "kv"), durableObjectsPersist: join(o.persistTo, "do") }
    : {};
  return {
    log: new Log(o.logLevel ?? LogLevel.WARN),
    // No request.cf lookup: there is no network here, and the gateway does not depend on it.
    cf: false,
    ...(o.onLogLine ? { handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => forwardLines([stdout, stderr], o.onLogLine!) } : {}),
    ...persist,
    workers: [
      {
        name: WORKERS.gateway.name,
        ...COMPAT,
        ...bundleModules("gateway"),
        bindings: { GATEWAY_TOKEN: o.gatewayToken, SNAPSHOT_TTL_MS: String(o.snapshotTtlMs ?? 2000), COLO: "local", FEATURE_DEADLINE_MS: "50", ORIGIN_URL: "", ORIGIN_DEADLINE_MS: "2000", ORIGIN_BREAKER_COOLDOWN_MS: "10000", ...o.gatewayBindings },
        serviceBindings: { CONTROL_PLANE: WORKERS.controlPlane.name },
        r2Buckets: { ARTIFACTS: "verge-artifacts", LOGS: "verge-logs" },
        kvNamespaces: { SNAPSHOT_CACHE: "verge-snapshot-cache", FEATURES: "verge-features" },
        queueProducers: { PREDICTION_LOGS: QUEUE, FEEDBACK: FEEDBACK_QUEUE },
        ...(o.ports ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: o.ports.gateway }] } : {}),
      },
      {
        name: WORKERS.controlPlane.name,
        ...COMPAT,
        ...bundleModules("controlPlane"),
        bindings: { ADMIN_TOKEN: o.adminToken, GATEWAY_TOKEN: o.gatewayToken, ...CONTROL_PLANE_VARS, ALERT_RETRY_BASE_MS: String(o.alertRetryBaseMs ?? 30_000), ...o.controlPlaneBindings },
        d1Databases: { DB: "verge" },
        r2Buckets: { ARTIFACTS: "verge-artifacts", LOGS: "verge-logs" },
        durableObjects: { ROLLUP_SHARDS: { className: "RollupShard", useSQLite: true } },
        queueProducers: { PREDICTION_LOGS: QUEUE, FEEDBACK: FEEDBACK_QUEUE },
        queueConsumers: {
          [QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: o.maxRetries ?? 10, deadLetterQueue: DEAD_LETTER_QUEUES[0] },
          [FEEDBACK_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: o.maxRetries ?? 10, deadLetterQueue: DEAD_LETTER_QUEUES[1] },
          [DEAD_LETTER_QUEUES[0]!]: { maxBatchSize: 100, maxBatchTimeout: 5 },
          [DEAD_LETTER_QUEUES[1]!]: { maxBatchSize: 100, maxBatchTimeout: 5 },
        },
        ...(o.ports ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: o.ports.controlPlane }] } : {}),
      },
    ],
  };
}

export async function startStack(o: StackOptions) {
  const mf = new Miniflare(stackOptions(o));
  await mf.ready;
  await applyMigrations(await mf.getD1Database("DB", WORKERS.controlPlane.name));
  return {
    mf,
    gateway: (path: string, init?: RequestInit) => mf.dispatchFetch(`http://gateway${path}`, init as never) as unknown as Promise<Response>,
    controlPlane: async (path: string, init?: RequestInit) =>
      (await mf.getWorker(WORKERS.controlPlane.name)).fetch(`http://control-plane${path}`, init as never) as unknown as Promise<Response>,
    dispose: () => mf.dispose(),
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

type D1 = Awaited<ReturnType<Miniflare["getD1Database"]>>;

/**
 * Applies pending drizzle-kit migrations, recording them in `d1_migrations` as
 * `wrangler d1 migrations apply` does, so either tool can take over from the other.
 */
export async function applyMigrations(db: D1): Promise<string[]> {
  await db.exec("CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
  const done = new Set((await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name));
  const dir = join(ROOT, "migrations");
  const pending = readdirSync(dir).filter((f) => f.endsWith(".sql") && !done.has(f)).sort();
  for (const file of pending) {
    const statements = readFileSync(join(dir, file), "utf8")
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch([...statements.map((s) => db.prepare(s)), db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(file)]);
  }
  return pending;
}

function forwardLines(streams: NodeJS.ReadableStream[], onLine: (line: string) => void): void {
  for (const stream of streams) {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
  }
}
