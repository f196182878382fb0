// Materialization and batch predictions against both real online-store drivers: Upstash through
// the bridge to a real redis-server, and Workers KV in miniflare. Offline tables are Parquet and
// CSV files written by DuckDB from rows kept here, so every expected value is known.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { Miniflare } from "miniflare";
import { miniflare } from "../../scripts/lib/miniflare.ts";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchPredictionsSchema, encodeRows, featureSpecSchema, materializeSchema, onlineKey, predictionKey, type OnlineRow, type OnlineStore } from "@verge/shared";
import { kvStore, type KvNamespaceLike } from "../../shared/src/online-store/kv.ts";
import { upstashStore } from "../../shared/src/online-store/upstash.ts";
import { logisticRegressionModel } from "../../shared/src/onnx/writer.ts";
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { startRedis } from "../../scripts/lib/redis-server.ts";
import { OfflineDataError, OfflineStore } from "../src/offline/store.ts";
import { batchPredictions } from "../src/materialize/batch-predictions.ts";
import { materialize, PUT_CHUNK } from "../src/materialize/materialize.ts";
import { WATERMARKS_FILE } from "../src/materialize/watermarks.ts";

const TOKEN = "bridge-test-token";
const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const USERS = 1200; // more than two put chunks
const MERCHANTS = 7;

let redis: Awaited<ReturnType<typeof startRedis>>;
let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
let mf: Miniflare;
let db: DuckDBInstance;
let sql: DuckDBConnection;
const root = mkdtempSync(join(tmpdir(), "verge-materialize-"));
const drivers: Record<string, () => OnlineStore> = {};

beforeAll(async () => {
  redis = await startRedis();
  bridge = await startUpstashBridge({ redisUrl: redis.url, token: TOKEN });
  mf = miniflare({ modules: true, script: "export default {}", kvNamespaces: ["FEATURES"] });
  const kv = (await mf.getKVNamespace("FEATURES")) as unknown as KvNamespaceLike;
  drivers.upstash = () => upstashStore({ url: bridge.url, token: TOKEN });
  drivers.kv = () => kvStore(kv);
  db = await DuckDBInstance.create(":memory:");
  sql = await db.connect();
});

afterAll(async () => {
  await bridge?.close();
  await redis?.stop();
  await mf?.dispose();
  sql?.closeSync();
  db?.closeSync();
  rmSync(root, { recursive: true, force: true });
});

type Cell = string | number | boolean | null;

/** Writes rows to Parquet (through a CSV read with the given column types) or to CSV as they are. */
async function writeTable(file: string, types: Record<string, string>, rows: Record<string, Cell>[]): Promise<void> {
  const names = Object.keys(types);
  const csv = [names.join(","), ...rows.map((r) => names.map((n) => (r[n] === null || r[n] === undefined ? "" : String(r[n]))).join(","))].join("\n");
  mkdirSync(join(file, ".."), { recursive: true });
  if (file.endsWith(".csv")) return writeFileSync(file, csv);
  const tmp = `${file}.src.csv`;
  writeFileSync(tmp, csv);
  const columns = names.map((n) => `'${n}': '${types[n]}'`).join(", ");
  await sql.run(`COPY (SELECT * FROM read_csv('${tmp}', header = true, columns = {${columns}})) TO '${file}' (FORMAT parquet)`);
  rmSync(tmp);
}

const iso = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");

/** User i has three snapshots; the one at T0 + i min is the latest. Times are a TIMESTAMP column. */
const userSnapshots = () =>
  Array.from({ length: USERS }, (_, i) => [
    { user_id: `u${i}`, ts: iso(T0 + i * MIN - 2 * 3600_000), score: -1, plan: "free" },
    { user_id: `u${i}`, ts: iso(T0 + i * MIN), score: latestScore(i), plan: i % 3 === 0 ? "pro" : "free" },
    { user_id: `u${i}`, ts: iso(T0 + i * MIN - 3600_000), score: -2, plan: "pro" },
  ]).flat();
const latestScore = (i: number) => (i % 100) / 100;
const USER_TYPES = { user_id: "VARCHAR", ts: "TIMESTAMP", score: "DOUBLE", plan: "VARCHAR" };

/** Records every putMany so a test can see exactly which keys were written, and in which chunks. */
function recording(store: OnlineStore, failOnCall?: number) {
  const calls: string[][] = [];
  const wrapped: OnlineStore = {
    name: store.name,
    getMany: (keys) => store.getMany(keys),
    async putMany(rows) {
      if (calls.length + 1 === failOnCall) {
        calls.push([]);
        throw new Error("online store unavailable");
      }
      calls.push(rows.map((r) => r.key));
      await store.putMany(rows);
    },
  };
  return { store: wrapped, calls, keys: () => calls.flat() };
}

describe.each(["upstash", "kv"])("materialize into %s", (driver) => {
  const dir = join(root, driver);
  const state = join(dir, "state");
  let offline: OfflineStore;
  const request = (full = false) =>
    materializeSchema.parse({
      views: [
        { name: "user", path: "user/*.parquet", entity: "user_id", features: ["score", "plan"] },
        { name: "merchant", path: "merchant.csv", entity: "merchant_id", timestamp: "updated_ms" },
      ],
      full,
    });

  beforeAll(async () => {
    await writeTable(join(dir, "offline/user/part-0.parquet"), USER_TYPES, userSnapshots());
    // Merchant snapshots: epoch-ms numbers in a CSV, every column but the key and time pushed.
    const merchants = Array.from({ length: MERCHANTS }, (_, m) => [
      { merchant_id: m, updated_ms: T0 + m, risk: m / 10, country: "DE", verified: m % 2 === 0 },
      { merchant_id: m, updated_ms: T0 + m - 1000, risk: 9, country: "FR", verified: false },
    ]).flat();
    await writeTable(join(dir, "offline/merchant.csv"), { merchant_id: "", updated_ms: "", risk: "", country: "", verified: "" }, merchants);
    offline = await OfflineStore.open({ root: join(dir, "offline") });
  });
  afterAll(() => offline?.close());

  it("first run writes each entity's latest row with its snapshot time, in chunks of at most 500", async () => {
    const rec = recording(drivers[driver]!());
    const result = await materialize(offline, rec.store, request(), state);
    expect(result.views).toEqual({
      user: { written: USERS, watermark: T0 + (USERS - 1) * MIN },
      merchant: { written: MERCHANTS, watermark: T0 + MERCHANTS - 1 },
    });
    expect(rec.calls.map((c) => c.length)).toEqual([PUT_CHUNK, PUT_CHUNK, USERS - 2 * PUT_CHUNK, MERCHANTS]);
    expect(new Set(rec.keys()).size).toBe(USERS + MERCHANTS);

    const users = await drivers[driver]!().getMany(Array.from({ length: USERS }, (_, i) => onlineKey("user", `u${i}`)));
    users.forEach((row, i) => expect(row).toEqual({ ts: T0 + i * MIN, values: { score: latestScore(i), plan: i % 3 === 0 ? "pro" : "free" } }));
    const merchants = await drivers[driver]!().getMany(Array.from({ length: MERCHANTS }, (_, m) => onlineKey("merchant", String(m))));
    merchants.forEach((row, m) => expect(row).toEqual({ ts: T0 + m, values: { risk: m / 10, country: "DE", verified: m % 2 === 0 } }));

    const saved = JSON.parse(readFileSync(join(state, WATERMARKS_FILE), "utf8"));
    expect(saved.views.user).toEqual({ watermark: T0 + (USERS - 1) * MIN, path: "user/*.parquet", files: [join(dir, "offline/user/part-0.parquet")], features: ["score", "plan"] });
    expect(existsSync(join(state, `${WATERMARKS_FILE}.tmp`))).toBe(false);
  });

  it("a second run writes nothing", async () => {
    const rec = recording(drivers[driver]!());
    const result = await materialize(offline, rec.store, request(), state);
    expect(result.views.user).toEqual({ written: 0, watermark: T0 + (USERS - 1) * MIN });
    expect(result.views.merchant).toEqual({ written: 0, watermark: T0 + MERCHANTS - 1 });
    expect(rec.keys()).toEqual([]);
  });

  it("after newer rows are appended, writes only those entities and the ones in the new file; an old row that arrives late changes no value", async () => {
    const late = T0 + USERS * MIN + 5 * MIN;
    await writeTable(join(dir, "offline/user/part-1.parquet"), USER_TYPES, [
      { user_id: "u3", ts: iso(late), score: 0.99, plan: "pro" },
      { user_id: "u700", ts: iso(late + 1), score: 0.5, plan: "free" },
      { user_id: "u700", ts: iso(late - MIN), score: 0.4, plan: "pro" },
      { user_id: "new", ts: iso(late + 2), score: 0.1, plan: "free" },
      { user_id: "u5", ts: iso(T0), score: 123, plan: "pro" }, // older than u5's latest
    ]);
    const rec = recording(drivers[driver]!());
    const result = await materialize(offline, rec.store, request(), state);
    // u5 has a row in the new file: its latest row is pushed again (the same row, an idempotent write).
    expect(result.views.user).toEqual({ written: 4, watermark: late + 2 });
    expect(result.views.merchant?.written).toBe(0);
    expect(rec.keys().sort()).toEqual([onlineKey("user", "new"), onlineKey("user", "u3"), onlineKey("user", "u5"), onlineKey("user", "u700")]);
    const [u3, u700, u5] = await drivers[driver]!().getMany([onlineKey("user", "u3"), onlineKey("user", "u700"), onlineKey("user", "u5")]);
    expect(u3).toEqual({ ts: late, values: { score: 0.99, plan: "pro" } });
    expect(u700).toEqual({ ts: late + 1, values: { score: 0.5, plan: "free" } });
    expect(u5).toEqual({ ts: T0 + 5 * MIN, values: { score: latestScore(5), plan: "free" } });
  });

  it("pushes a row that arrives late, older than the watermark but newer than its entity's latest", async () => {
    // u9's latest is at T0 + 9 min, far below the watermark; a row for T0 + 10 min lands now.
    await writeTable(join(dir, "offline/user/part-late.parquet"), USER_TYPES, [{ user_id: "u9", ts: iso(T0 + 10 * MIN), score: 0.77, plan: "pro" }]);
    const before = JSON.parse(readFileSync(join(state, WATERMARKS_FILE), "utf8")).views.user.watermark as number;
    const rec = recording(drivers[driver]!());
    const result = await materialize(offline, rec.store, request(), state);
    expect(result.views.user).toEqual({ written: 1, watermark: before });
    expect(rec.keys()).toEqual([onlineKey("user", "u9")]);
    const [u9] = await drivers[driver]!().getMany([onlineKey("user", "u9")]);
    expect(u9).toEqual({ ts: T0 + 10 * MIN, values: { score: 0.77, plan: "pro" } });
    // Seen now: the next run writes nothing.
    expect((await materialize(offline, recording(drivers[driver]!()).store, request(), state)).views.user?.written).toBe(0);
  });

  it("pushes the whole view again when its feature set changes", async () => {
    const narrower = materializeSchema.parse({ views: [{ name: "user", path: "user/*.parquet", entity: "user_id", features: ["score"] }] });
    const rec = recording(drivers[driver]!());
    const result = await materialize(offline, rec.store, narrower, state);
    expect(result.views.user?.written).toBe(USERS + 1);
    const [u1] = await drivers[driver]!().getMany([onlineKey("user", "u1")]);
    expect(u1).toEqual({ ts: T0 + MIN, values: { score: latestScore(1) } });
    // Back to both features: "plan" is new to the store, so every entity gets it.
    const again = await materialize(offline, recording(drivers[driver]!()).store, request(), state);
    expect(again.views.user?.written).toBe(USERS + 1);
    const [u1Again] = await drivers[driver]!().getMany([onlineKey("user", "u1")]);
    expect(u1Again).toEqual({ ts: T0 + MIN, values: { score: latestScore(1), plan: "free" } });
  });

  it("full re-pushes every entity's latest row", async () => {
    const rec = recording(drivers[driver]!());
    const result = await materialize(offline, rec.store, request(true), state);
    expect(result.views.user?.written).toBe(USERS + 1);
    expect(result.views.merchant?.written).toBe(MERCHANTS);
    expect(new Set(rec.keys()).size).toBe(USERS + 1 + MERCHANTS);
  });

  it("does not advance the watermark when a write fails, so the next run pushes the rows again", async () => {
    const next = T0 + USERS * MIN + 60 * MIN;
    await writeTable(
      join(dir, "offline/user/part-2.parquet"),
      USER_TYPES,
      Array.from({ length: 600 }, (_, i) => ({ user_id: `u${i}`, ts: iso(next + i), score: 0.01, plan: "free" })),
    );
    const before = readFileSync(join(state, WATERMARKS_FILE), "utf8");
    const failing = recording(drivers[driver]!(), 2);
    await expect(materialize(offline, failing.store, request(), state)).rejects.toThrow("online store unavailable");
    expect(readFileSync(join(state, WATERMARKS_FILE), "utf8")).toBe(before);

    const rec = recording(drivers[driver]!());
    const result = await materialize(offline, rec.store, request(), state);
    expect(result.views.user).toEqual({ written: 600, watermark: next + 599 });
  });

  it("names the view field for a missing column and the file for a missing table", async () => {
    const bad = materializeSchema.parse({ views: [{ name: "user", path: "user/*.parquet", entity: "uid" }] });
    await expect(materialize(offline, drivers[driver]!(), bad, state)).rejects.toMatchObject({ field: "views[0].entity", message: expect.stringContaining('no column "uid"') });
    const missing = materializeSchema.parse({ views: [{ name: "x", path: "nope.parquet", entity: "id" }] });
    await expect(materialize(offline, drivers[driver]!(), missing, state)).rejects.toBeInstanceOf(OfflineDataError);
  });
});

describe.each(["upstash", "kv"])("batch predictions into %s", (driver) => {
  const dir = join(root, `batch-${driver}`);
  const NOW = T0 + 10 * 86_400_000;
  const ENTITIES = 1500; // more than one model call
  const spec = featureSpecSchema.parse({
    views: [{ name: "user", entity: "user_id", max_age_s: 86_400 }],
    features: [
      { name: "amount", type: "number", default: 0 },
      { name: "mobile", type: "boolean", default: false },
      { name: "score", type: "number", default: 0.5, view: "user" },
      { name: "plan", type: "categorical", vocabulary: ["free", "pro"], default: "free", view: "user" },
    ],
  });
  const weights = [0.02, -0.7, 1.5, -0.3, 0.9];
  let offline: OfflineStore;
  let session: ort.InferenceSession;
  const run = async (x: Float32Array, rows: number, width: number) => {
    const out = await session.run({ input: new ort.Tensor("float32", x, [rows, width]) });
    return Float32Array.from(out.probability!.data as Float32Array);
  };

  /** Entity i's expected raw features: u1 has only a stale snapshot, u2 none, u3 one after NOW. */
  const expectedRow = (i: number) => ({
    amount: i % 50,
    mobile: i % 4 === 0,
    score: i === 1 || i === 2 ? null : i === 3 ? 0.3 : (i % 10) / 10,
    plan: i === 1 || i === 2 ? null : i === 3 ? "free" : i % 2 ? "pro" : "free",
  });

  beforeAll(async () => {
    session = await ort.InferenceSession.create(logisticRegressionModel(weights, -0.25));
    const entities = Array.from({ length: ENTITIES }, (_, i) => ({ user_id: `u${i}`, amount: i % 50, mobile: i % 4 === 0 }));
    await writeTable(join(dir, "offline/entities.parquet"), { user_id: "VARCHAR", amount: "DOUBLE", mobile: "BOOLEAN" }, entities);
    const snapshots = entities
      .filter((_, i) => i !== 2)
      .flatMap((e, i0) => {
        const i = i0 >= 2 ? i0 + 1 : i0;
        if (i === 1) return [{ user_id: e.user_id, ts: NOW - 86_400_000 - 1, score: 0.9, plan: "pro" }];
        return [
          { user_id: e.user_id, ts: NOW - 3600_000, score: (i % 10) / 10, plan: i % 2 ? "pro" : "free" },
          { user_id: e.user_id, ts: NOW - 7200_000, score: 0.77, plan: "pro" },
          { user_id: e.user_id, ts: NOW + 1, score: 0.99, plan: "pro" }, // after NOW: not yet known
        ].map((s) => (i === 3 && s.ts === NOW - 3600_000 ? { ...s, score: 0.3, plan: "free" } : s));
      });
    await writeTable(join(dir, "offline/user.parquet"), { user_id: "VARCHAR", ts: "BIGINT", score: "DOUBLE", plan: "VARCHAR" }, snapshots);
    offline = await OfflineStore.open({ root: join(dir, "offline") });
  });
  afterAll(() => offline?.close());

  it("stores the model's score for every entity under predictionKey, equal to running the model directly", async () => {
    const request = batchPredictionsSchema.parse({ model: "fraud", version: 3, entities: { path: "entities.parquet", key: "user_id" }, views: { user: { path: "user.parquet" } } });
    const rec = recording(drivers[driver]!());
    const result = await batchPredictions(offline, rec.store, request, { model: "fraud", version: 3, feature_spec: spec, outputs: [{ name: "probability" }] }, run, NOW);
    expect(result).toEqual({ written: ENTITIES });
    expect(rec.calls.every((c) => c.length <= PUT_CHUNK)).toBe(true);

    // The reference: the same raw rows, encoded as serving encodes them, through the model in one call.
    const rows = Array.from({ length: ENTITIES }, (_, i) => expectedRow(i));
    const x = encodeRows(spec, rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v ?? spec.features.find((f) => f.name === k)!.default]))));
    const direct = await run(x, ENTITIES, 5);
    const stored = await drivers[driver]!().getMany(Array.from({ length: ENTITIES }, (_, i) => predictionKey("fraud", 3, `u${i}`)));
    stored.forEach((row: OnlineRow | undefined, i) => expect(row, `u${i}`).toEqual({ ts: NOW, values: { probability: direct[i] } }));

    // Independent of ONNX: sigmoid(x·w + b) in float64 agrees to float32 precision.
    const logistic = (i: number) => {
      const z = weights.reduce((s, w, j) => s + w * x[i * 5 + j]!, -0.25);
      return 1 / (1 + Math.exp(-z));
    };
    for (const i of [0, 1, 2, 3, 4, 777, ENTITIES - 1]) expect(stored[i]!.values.probability as number).toBeCloseTo(logistic(i), 6);
    // u1's only snapshot is stale and u2 has none: both take the defaults, as serving would.
    expect(x.subarray(5, 10)).toEqual(Float32Array.from([1, 0, 0.5, 1, 0]));
    expect(x.subarray(10, 15)).toEqual(Float32Array.from([2, 0, 0.5, 1, 0]));
    // u3's snapshot after NOW is ignored.
    expect(x[17]).toBeCloseTo(0.3, 6);
  });

  it("refuses a model whose output is wider than one score, and a view with no table", async () => {
    const request = batchPredictionsSchema.parse({ model: "fraud", version: 3, entities: { path: "entities.parquet", key: "user_id" }, views: { user: { path: "user.parquet" } } });
    const version = { model: "fraud", version: 3, feature_spec: spec, outputs: [{ name: "probability" }] };
    const wide = async (_x: Float32Array, rows: number) => new Float32Array(rows * 2);
    await expect(batchPredictions(offline, drivers[driver]!(), request, version, wide, NOW)).rejects.toThrow(/2 values per row.*\[batch, 1\]/);
    const noView = batchPredictionsSchema.parse({ ...request, views: {} });
    await expect(batchPredictions(offline, drivers[driver]!(), noView, version, run, NOW)).rejects.toMatchObject({ field: "views.user" });
  });
});
