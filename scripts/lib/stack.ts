// Both workers in one workerd (through miniflare): D1, R2, KV, the queues (with their dead-letter
// queues) and the rollup shards (SQLite-backed Durable Objects) are local, and the gateway reaches
// the control plane over a service binding, as in production. Every binding comes from the
// workers' wrangler.toml files (wrangler-config.ts).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Log, LogLevel, type Json, type Miniflare, type V4MiniflareOptions, type WorkerdStructuredLog } from "miniflare";
import { miniflare } from "./miniflare.ts";
import { bundleModules, ROOT, WORKERS, type WorkerKey } from "./build.ts";
import { cloudflareApiWorker } from "./cloudflare-api.ts";
import { upgradeLocalState } from "./local-state.ts";
import { sqliteClasses, workerConfig, type WorkerConfig } from "./wrangler-config.ts";

type V4WorkerOptions = Extract<V4MiniflareOptions, { workers: unknown }>["workers"][number];

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
  /** Serve Cloudflare's KV REST API for the gateway's namespaces on this port (see cloudflare-api.ts). */
  cloudflareApi?: { port: number; token: string };
  /** Control-plane vars over wrangler.toml's (e.g. a shorter FEEDBACK_RETRY_BASE_S in tests). */
  controlPlaneBindings?: Record<string, string>;
  /** Retries before a log or feedback batch goes to its dead-letter queue (wrangler.toml: 10). */
  maxRetries?: number;
  /**
   * More gateway workers beside the first (`verge-gateway-2`, …): same bundle and bindings, each
   * its own isolate, their Durable Objects those of the first, as isolates share them in production.
   */
  gatewayReplicas?: number;
}

const replicaName = (i: number) => `${WORKERS.gateway.name}-${i + 2}`;

export const QUEUE = "verge-prediction-logs";
export const FEEDBACK_QUEUE = "verge-feedback";

/**
 * A worker's miniflare options from its wrangler.toml: the same bindings, queues (with their
 * dead-letter queues), Durable Objects and variables as in production, from the deployed bundle.
 */
function workerFromConfig(key: WorkerKey, c: WorkerConfig, secrets: Record<string, string>, port: number | undefined, maxRetries?: number): V4WorkerOptions {
  const sqlite = sqliteClasses(c);
  return {
    name: c.name,
    compatibilityDate: c.compatibility_date,
    compatibilityFlags: c.compatibility_flags ?? [],
    ...bundleModules(key),
    bindings: { ...(c.vars as Record<string, Json> | undefined), ...secrets },
    d1Databases: Object.fromEntries((c.d1_databases ?? []).map((d) => [d.binding, d.database_id ?? d.database_name])),
    r2Buckets: Object.fromEntries((c.r2_buckets ?? []).map((r) => [r.binding, r.bucket_name])),
    kvNamespaces: Object.fromEntries((c.kv_namespaces ?? []).map((k) => [k.binding, k.id ?? k.binding])),
    queueProducers: Object.fromEntries((c.queues?.producers ?? []).map((p) => [p.binding, { queueName: p.queue }])),
    queueConsumers: Object.fromEntries(
      (c.queues?.consumers ?? []).map((q) => [
        q.queue,
        {
          maxBatchSize: q.max_batch_size,
          maxBatchTimeout: q.max_batch_timeout,
          // Tests shorten the way to a dead-letter queue; the DLQs' own consumers keep theirs.
          maxRetries: q.dead_letter_queue && maxRetries !== undefined ? maxRetries : q.max_retries,
          ...(q.dead_letter_queue ? { deadLetterQueue: q.dead_letter_queue } : {}),
        },
      ]),
    ),
    durableObjects: Object.fromEntries((c.durable_objects?.bindings ?? []).map((d) => [d.name, { className: d.class_name, ...(d.script_name ? { scriptName: d.script_name } : {}), useSQLite: sqlite.has(d.class_name) }])),
    serviceBindings: Object.fromEntries((c.services ?? []).map((s) => [s.binding, s.service])),
    ...(port ? { unsafeDirectSockets: [{ host: "127.0.0.1", port }] } : {}),
  };
}

export function stackOptions(o: StackOptions) {
  const gateway = workerConfig("gateway");
  const controlPlane = workerConfig("controlPlane");
  const workers = [
    workerFromConfig("gateway", gateway, { GATEWAY_TOKEN: o.gatewayToken, SNAPSHOT_TTL_MS: String(o.snapshotTtlMs ?? 2000), ...o.gatewayBindings }, o.ports?.gateway),
    workerFromConfig(
      "controlPlane",
      controlPlane,
      { ADMIN_TOKEN: o.adminToken, GATEWAY_TOKEN: o.gatewayToken, ...(o.alertRetryBaseMs !== undefined ? { ALERT_RETRY_BASE_MS: String(o.alertRetryBaseMs) } : {}), ...o.controlPlaneBindings },
      o.ports?.controlPlane,
      o.maxRetries,
    ),
  ];
  const first = workers[0]!;
  for (let i = 0; i < (o.gatewayReplicas ?? 0); i++) {
    const { unsafeDirectSockets: _, ...rest } = first;
    workers.push({
      ...rest,
      name: replicaName(i),
      durableObjects: Object.fromEntries(Object.entries(first.durableObjects ?? {}).map(([binding, d]) => [binding, { ...(d as object), scriptName: WORKERS.gateway.name }])),
    } as typeof first);
  }
  if (o.cloudflareApi) workers.push(cloudflareApiWorker(gateway, o.cloudflareApi));
  return {
    log: new Log(o.logLevel ?? LogLevel.WARN),
    // No request.cf lookup: there is no network here; the gateway falls back to its COLO name.
    cf: false,
    // Miniflare 5 hands the workers' output over as structured logs, one per console call.
    ...(o.onLogLine ? { handleStructuredLogs: (log: WorkerdStructuredLog) => forwardLog(log, o.onLogLine!) } : {}),
    ...(o.persistTo ? { resourcePersistencePath: o.persistTo } : {}),
    workers,
  } satisfies V4MiniflareOptions;
}

export async function startStack(o: StackOptions) {
  if (o.persistTo) upgradeLocalState(o.persistTo, [workerConfig("gateway"), workerConfig("controlPlane")]);
  const mf = miniflare(stackOptions(o));
  await mf.ready;
  await applyMigrations(await mf.getD1Database("DB", WORKERS.controlPlane.name));
  return {
    mf,
    gateway: (path: string, init?: RequestInit) => mf.dispatchFetch(`http://gateway${path}`, init as never) as unknown as Promise<Response>,
    /** Fetch through the gateway replica `i` (0 is the first gateway; see `gatewayReplicas`). */
    gatewayReplica: async (i: number, path: string, init?: RequestInit) =>
      (await mf.getWorker(i === 0 ? WORKERS.gateway.name : replicaName(i - 1))).fetch(`http://gateway${path}`, init as never) as unknown as Promise<Response>,
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
export async function applyMigrations(db: D1, dir = join(ROOT, "migrations")): Promise<string[]> {
  await db.exec("CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)");
  const done = new Set((await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name));
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

/** Each line of a log to `onLine`; warnings and errors also to stderr, where they are seen. */
function forwardLog(log: WorkerdStructuredLog, onLine: (line: string) => void): void {
  for (const line of log.message.split("\n")) onLine(line);
  if (log.level === "warn" || log.level === "error") process.stderr.write(`${log.message}\n`);
}
