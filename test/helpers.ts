// Test helpers: a fresh stack per test file, with tokens, an admin client, and conditions to wait
// for (exact counts through the monitoring reader, queue batches consumed) instead of sleeps.
import { controlPlaneClient, type ControlPlaneClient } from "@verge/client";
import type { LogRecord } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { startStack, type Stack, type StackOptions } from "../scripts/lib/stack.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const GATEWAY_TOKEN = "test-gateway-token-0123456789abcdef";
export const CLIENT_KEY = "vk_test_client_key_0123456789abcdef";

/** One consumer invocation, as the control plane logs it (`{"event":"queue_batch",…}`). */
export interface QueueBatchLine {
  queue: string;
  messages: number;
  acked: number;
  records?: number;
  counted?: number;
  duplicates?: number;
  late?: number;
  rejected?: number;
  applied?: number;
  conflicts?: number;
  retried?: number;
  failed?: number;
  dead?: number;
}

export interface TestStack extends Stack {
  admin: ControlPlaneClient;
  predict: (model: string, body: unknown, headers?: Record<string, string>) => Promise<Response>;
  /** Every consumer batch so far, in order. */
  batches: QueueBatchLine[];
}

export async function testStack(options: Partial<StackOptions> = {}): Promise<TestStack> {
  const batches: QueueBatchLine[] = [];
  const stack = await startStack({
    adminToken: ADMIN_TOKEN,
    gatewayToken: GATEWAY_TOKEN,
    snapshotTtlMs: 0,
    ...options,
    controlPlaneBindings: { FEEDBACK_RETRY_BASE_S: "1", ...options.controlPlaneBindings },
    onLogLine: (line) => {
      const at = line.indexOf('{"event":"queue_batch"');
      if (at >= 0) batches.push(JSON.parse(line.slice(at)) as QueueBatchLine);
      options.onLogLine?.(line);
    },
  });
  const admin = controlPlaneClient({ fetch: stack.controlPlane, token: ADMIN_TOKEN });
  return {
    ...stack,
    admin,
    batches,
    predict: (model, body, headers = {}) =>
      stack.gateway(`/v1/models/${model}/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
  };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Row counts of every registry table: "nothing stored" means these do not change. One query, one round trip. */
export async function tableCounts(stack: Stack): Promise<Record<string, number>> {
  const db = await stack.mf.getD1Database("DB", "verge-control-plane");
  const tables = ["models", "versions", "aliases", "alias_events", "deployments", "api_keys", "audit", "counters"];
  const counts = tables.map((t) => `(SELECT count(*) FROM ${t}) AS ${t}`).join(", ");
  const row = await db.prepare(`SELECT ${counts}, (SELECT value FROM counters WHERE name = 'snapshot') AS snapshot_version`).first<Record<string, number | null>>();
  return Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, v ?? 0]));
}

/** Rows of every D1 table, by table: how D1 grows (it must not grow with predictions). */
export async function d1Rows(stack: Stack): Promise<Record<string, number>> {
  const db = await stack.mf.getD1Database("DB", "verge-control-plane");
  const names = (await db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").all<{ name: string }>()).results.map((r) => r.name);
  const out: Record<string, number> = {};
  for (const t of names.sort()) out[t] = (await db.prepare(`SELECT count(*) AS n FROM "${t}"`).first<{ n: number }>())!.n;
  return out;
}

/** Asserts the shared error shape and returns it. */
export async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const text = await res.text();
  let body: { error?: { code: string; message: string } };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 200)}`);
  }
  if (!body.error || typeof body.error.code !== "string" || typeof body.error.message !== "string") {
    throw new Error(`not the shared error shape (${res.status}): ${text.slice(0, 200)}`);
  }
  return body.error;
}

type Series = { version: number; variant: string; shadow: boolean; count: number; errors: number };

/** Records counted for a model over a window (primaries and shadows), through the monitoring reader. */
export async function countedRecords(stack: TestStack, model: string, window = { from: Date.now() - 86_400_000, to: Date.now() + 60_000 }, filter: (s: Series) => boolean = () => true): Promise<number> {
  const m = await stack.admin.api.metrics({ params: { model }, query: { from: window.from, to: window.to } });
  return m.series.filter(filter).reduce((s, x) => s + x.count, 0);
}

/**
 * Waits until exactly `expected` records are counted for a model; fails at once on more (a record
 * counted twice) and after `timeoutMs` on fewer (a record lost).
 */
export async function waitForCount(stack: TestStack, model: string, expected: number, o: { timeoutMs?: number; filter?: (s: Series) => boolean; window?: { from: number; to: number } } = {}): Promise<void> {
  let last = -1;
  await eventually(async () => {
    last = await countedRecords(stack, model, o.window, o.filter);
    if (last > expected) throw new Error(`${model}: ${last} records counted, expected ${expected}`);
    return last === expected ? true : undefined;
  }, o.timeoutMs ?? 30_000).catch((err: Error) => {
    throw new Error(`${model}: ${last} of ${expected} records counted (${err.message})`);
  });
}

/** Waits until the consumer of `queue` has acknowledged at least `messages` messages in all. */
export async function waitConsumed(stack: TestStack, queue: string, messages: number, timeoutMs = 30_000): Promise<QueueBatchLine[]> {
  return eventually(async () => {
    const mine = stack.batches.filter((b) => b.queue === queue);
    return mine.reduce((s, b) => s + b.acked, 0) >= messages ? mine : undefined;
  }, timeoutMs);
}

/** What a test may ask a rollup shard directly (its RPC methods, through miniflare). */
export interface ShardHandle {
  stats(): Promise<{ predictions: number; labelled: number; rollupRows: number; outbox: number; bytes: number; pruned: boolean; joinsDropped: boolean; times: number[] }>;
}

/** The rollup shard of a model's UTC day (and sub-shard). */
export async function shardOf(stack: Stack, model: string, ts: number, sub = 0): Promise<ShardHandle> {
  const ns = await stack.mf.getDurableObjectNamespace("ROLLUP_SHARDS", "verge-control-plane");
  return ns.get(ns.idFromName(`${model}/${Math.floor(ts / 86_400_000)}/${sub}`)) as unknown as ShardHandle;
}

type LakeRecord = LogRecord & { label?: number | null; label_ts?: number | null };

/** A model's records as served, from the log lake (one page, up to 10,000), through `GET …/logs`. */
/** Where the registry stored a version's artifact in R2 (keys are chosen at upload, not derived from the hash). */
export async function artifactKeyOf(stack: TestStack, sha256: string): Promise<string> {
  const db = await stack.mf.getD1Database("DB", "verge-control-plane");
  const row = await db.prepare("SELECT artifact_key AS key FROM versions WHERE sha256 = ?").bind(sha256).first<{ key: string }>();
  if (!row) throw new Error(`no version has sha256 ${sha256}`);
  return row.key;
}

/** A one-feature model (x) deployed to the given variants (default: one, "main"); returns its version. */
export async function deployOneFeatureModel(stack: TestStack, name: string, reference?: unknown, variants = [{ name: "main", weight: 10000 }]): Promise<number> {
  await stack.admin.ok("POST", "/v1/models", { name, task: "binary_classification" });
  const v = await stack.admin.uploadVersion(name, logisticRegressionModel([0.1], 0), {
    runtime: "edge",
    inputs: [{ name: "input", shape: [-1, 1] }],
    outputs: [{ name: "probability", shape: [-1, 1] }],
    feature_spec: { features: [{ name: "x", type: "number", default: 0 }] },
    ...(reference ? { reference } : {}),
  });
  await stack.admin.ok("PUT", `/v1/models/${name}/deployment`, { variants: variants.map((x) => ({ ...x, version: v.version })) });
  return v.version;
}

export async function lakeRecords(stack: TestStack, model: string, query: { from?: number; to?: number; labels?: "include" | "only"; version?: number; variant?: string } = {}): Promise<LakeRecord[]> {
  const res = await stack.admin.api.logs({ params: { model }, query: { limit: 10_000, ...query } });
  return (await res.text())
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LakeRecord);
}
