// The offline store and point-in-time training sets, on real Parquet and CSV files written by DuckDB.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError, datasetSpecSchema, featureSpecSchema, type DatasetSpec } from "@verge/shared";
import { OfflineDataError, OfflineStore } from "../src/offline/store.ts";
import { holdoutStart, loadTrainingSet, trainingData } from "../src/offline/training-set.ts";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const USERS = 50;

const spec = featureSpecSchema.parse({
  views: [{ name: "user", entity: "user_id", max_age_s: 3600 }],
  features: [
    { name: "amount", type: "number", default: 0 },
    { name: "score", type: "number", default: -1, view: "user" },
    { name: "plan", type: "categorical", vocabulary: ["free", "pro"], default: "free", view: "user" },
  ],
});

/** Whether DuckDB's default extension folder holds httpfs on this machine. */
const httpfsInstalled = await (async () => {
  const probe = await DuckDBInstance.create(":memory:");
  const rows = (await (await probe.connect()).runAndReadAll(`SELECT installed FROM duckdb_extensions() WHERE extension_name = 'httpfs'`)).getRowObjectsJS();
  probe.closeSync();
  return rows[0]?.installed === true;
})();

let dir: string;
let db: DuckDBInstance;
let sql: DuckDBConnection;
let store: OfflineStore;

/** User i: an event at T0 + i min with label i % 2, a snapshot 10 s before it, and a planted leak 10 s after it whose score equals the label. */
const eventTime = (i: number) => T0 + i * MIN;
const asOfScore = (i: number) => 0.25 + i / 1000;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-offline-"));
  db = await DuckDBInstance.create(":memory:");
  sql = await db.connect();
  const users = `range(${USERS}) r(i)`;
  // Labels carry a TIMESTAMP; snapshots carry epoch-ms numbers: both are normalised.
  await sql.run(`COPY (SELECT 'u' || i AS user_id, make_timestamp(CAST((${T0} + i * ${MIN}) * 1000 AS BIGINT)) AS ts, i % 2 AS label, i * 1.5 AS amount FROM ${users}) TO '${dir}/labels.parquet'`);
  await sql.run(`COPY (
      SELECT 'u' || i AS user_id, ${T0} + i * ${MIN} - 10000 AS ts, 0.25 + i / 1000 AS score, CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END AS plan FROM ${users}
      UNION ALL SELECT 'u' || i, ${T0} + i * ${MIN} + 10000, CAST(i % 2 AS DOUBLE), 'leak' FROM ${users}
      -- u0 also had an old snapshot: superseded, never used
      UNION ALL SELECT 'u0', ${T0} - 86400000, 99, 'pro'
    ) TO '${dir}/user.parquet'`);
  store = await OfflineStore.open({ root: dir });
});

afterAll(() => {
  store?.close();
  sql?.closeSync();
  db?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dataset = (over: Partial<DatasetSpec> & { labels?: Partial<DatasetSpec["labels"]> } = {}): DatasetSpec =>
  datasetSpecSchema.parse({ ...over, labels: { path: "labels.parquet", ...over.labels }, views: over.views ?? { user: { path: "user.parquet" } } });

describe("point-in-time training set", () => {
  it("joins each view's snapshot as of the event time, never a later (leaking) value", async () => {
    const set = await loadTrainingSet(store, spec, dataset({ holdout_fraction: 0.2 }));
    const rows = [...set.train.rows, ...set.holdout.rows];
    const labels = [...set.train.labels, ...set.holdout.labels];
    expect(rows).toHaveLength(USERS);
    rows.forEach((row, i) => {
      expect(row.score).toBeCloseTo(asOfScore(i), 12);
      expect(row.plan).toBe(i % 3 === 0 ? "pro" : "free");
      expect(row.amount).toBe(i * 1.5);
      expect(row.score).not.toBe(labels[i]);
    });
    expect([...set.train.timestamps, ...set.holdout.timestamps]).toEqual(Array.from({ length: USERS }, (_, i) => eventTime(i)));
  });

  it("a naive latest-value join would have leaked the label (so the check above can fail)", async () => {
    const naive = (
      await sql.runAndReadAll(`
        SELECT l.label, v.score FROM read_parquet('${dir}/labels.parquet') l
        JOIN (SELECT user_id, arg_max(score, ts) AS score FROM read_parquet('${dir}/user.parquet') GROUP BY user_id) v USING (user_id)`)
    ).getRowObjectsJS();
    expect(naive).toHaveLength(USERS);
    expect(naive.every((r) => Number(r.score) === Number(r.label))).toBe(true);
  });

  it("treats a snapshot older than the view's max age as missing, so the feature takes its default", async () => {
    await sql.run(`COPY (SELECT 'u0' AS user_id, ${T0 - 3600_000 - 1} AS ts, 7.0 AS score, 'pro' AS plan UNION ALL SELECT 'u1', ${T0 + MIN - 3600_000}, 8.0, 'pro') TO '${dir}/old.parquet'`);
    const set = await loadTrainingSet(store, spec, dataset({ views: { user: { path: "old.parquet", timestamp: "ts" } }, holdout_fraction: 0.1 }));
    const [u0, u1, u2] = set.train.rows;
    expect(u0).toMatchObject({ score: null, plan: null }); // one ms past the max age
    expect(u1).toMatchObject({ score: 8, plan: "pro" }); // exactly at the max age: fresh, as in serving
    expect(u2).toMatchObject({ score: null, plan: null }); // no snapshot at all
    const m = trainingData(spec, set.train);
    expect(m.x.subarray(m.width * 0, m.width * 1)[1]).toBe(-1);
    expect(m.y[1]).toBe(1);
  });

  it("keeps only events since the given time and holds out the latest by time", async () => {
    const since = eventTime(10);
    const set = await loadTrainingSet(store, spec, dataset({ since, holdout_fraction: 0.25 }));
    expect(set.train.rows.length + set.holdout.rows.length).toBe(USERS - 10);
    expect(set.holdout.rows).toHaveLength(10);
    expect(Math.min(...set.train.timestamps)).toBe(since);
    expect(Math.max(...set.train.timestamps)).toBeLessThan(Math.min(...set.holdout.timestamps));
  });

  it("never splits events sharing a timestamp across train and holdout", () => {
    expect(holdoutStart([1, 2, 3, 3, 3], 0.2)).toBe(2);
    expect(holdoutStart([1, 2, 3, 4, 5], 0.4)).toBe(3);
    expect(holdoutStart([5, 5, 5], 0.5)).toBe(1);
    expect(holdoutStart([1], 0.5)).toBe(1);
  });

  it("reads CSV with epoch-ms times and hashes the input bytes", async () => {
    writeFileSync(join(dir, "labels.csv"), ["user_id,when,y,amount", `u1,${eventTime(1)},1,3`, `u2,${eventTime(2)},0,`].join("\n"));
    const set = await loadTrainingSet(store, spec, dataset({ labels: { path: "labels.csv", timestamp: "when", label: "y" }, holdout_fraction: 0.5 }));
    expect(set.train.rows).toEqual([{ amount: 3, score: asOfScore(1), plan: "free" }]);
    expect(set.holdout.rows).toEqual([{ amount: null, score: asOfScore(2), plan: "free" }]);
    expect(set.train.labels).toEqual([1]);
    const expected = createHash("sha256").update(readFileSync(join(dir, "labels.csv"))).update(readFileSync(join(dir, "user.parquet"))).digest("hex");
    expect(set.sha256).toBe(expected);
    expect(set.reference).toContain(join(dir, "labels.csv"));
  });

  it("fails with an error naming the table and field for a missing file, a missing column or a corrupt file", async () => {
    const fail = (d: DatasetSpec) => loadTrainingSet(store, spec, d).then(() => undefined, (e: unknown) => e);
    const missing = await fail(dataset({ labels: { path: "nope/labels.parquet" } }));
    expect(missing).toBeInstanceOf(OfflineDataError);
    expect(missing).toMatchObject({ path: "nope/labels.parquet", status: 400, message: expect.stringContaining("no such file") });

    const column = await fail(dataset({ labels: { timestamp: "event_time" } }));
    expect(column).toMatchObject({ field: "dataset.labels.timestamp", message: expect.stringContaining('no column "event_time"') });
    expect((column as Error).message).toContain("user_id, ts, label, amount");

    writeFileSync(join(dir, "corrupt.parquet"), randomBytes(4096));
    const corrupt = await fail(dataset({ views: { user: { path: "corrupt.parquet", timestamp: "ts" } } }));
    expect(corrupt).toBeInstanceOf(OfflineDataError);
    expect(corrupt).toMatchObject({ path: "corrupt.parquet", status: 400, message: expect.stringMatching(/^corrupt\.parquet could not be read .*valid Parquet file/) });

    // A real file cut short (an interrupted upload) fails the same way.
    const whole = readFileSync(join(dir, "labels.parquet"));
    writeFileSync(join(dir, "truncated.parquet"), whole.subarray(0, whole.length >> 1));
    const truncated = await fail(dataset({ labels: { path: "truncated.parquet" } }));
    expect(truncated).toMatchObject({ path: "truncated.parquet", message: expect.stringContaining("truncated.parquet could not be read") });

    const badTime = await fail(dataset({ labels: { timestamp: "user_id" } }));
    expect(badTime).toMatchObject({ field: "dataset.labels.timestamp", message: expect.stringContaining("TIMESTAMP or a number of epoch milliseconds") });
  });

  it("reports a feature column the table lacks instead of inventing values", async () => {
    const wider = featureSpecSchema.parse({ ...spec, features: [...spec.features, { name: "tenure", type: "number", default: 0 }] });
    const set = await loadTrainingSet(store, wider, dataset());
    expect(set.columns).toMatchObject({ amount: expect.stringMatching(/^DECIMAL/), score: "DOUBLE", plan: "VARCHAR", tenure: undefined });
    expect(set.train.rows.every((r) => r.tenure === null)).toBe(true);
  });

  it("an S3 root needs the httpfs extension and says so when it can be neither loaded nor installed", async () => {
    // An empty extension folder and an unreachable repository: httpfs is absent here on any machine.
    const extensions = { directory: mkdtempSync(join(tmpdir(), "verge-duckdb-ext-")), repository: "http://127.0.0.1:1" };
    try {
      const opened = await OfflineStore.open({ root: "s3://bucket/prefix", s3: { region: "auto", endpoint: "http://127.0.0.1:1" }, extensions }).then(
        (s) => (s.close(), "opened" as const),
        (e: unknown) => e,
      );
      expect(opened).toBeInstanceOf(ApiError);
      expect(opened).toMatchObject({ code: "unavailable", message: expect.stringContaining('"httpfs" extension') });
      expect((opened as Error).message).toContain("s3://bucket/prefix");
      expect((opened as Error).message).toMatch(/VERGE_OFFLINE_ROOT/);
      expect((opened as Error).message).toMatch(/VERGE_DUCKDB_EXTENSION_REPOSITORY/);
      // It tried the repository it was given, not the internet.
      expect((opened as Error).message).toContain('at URL "http://127.0.0.1:1/');
    } finally {
      rmSync(extensions.directory, { recursive: true, force: true });
    }
  });

  // Needs the httpfs binary, which cannot be fetched without network: reported as skipped where it is absent.
  it.skipIf(!httpfsInstalled)("an S3 root opens where httpfs is installed", async () => {
    const store = await OfflineStore.open({ root: "s3://bucket/prefix", s3: { region: "auto", endpoint: "http://127.0.0.1:1" } });
    expect(store.root).toBe("s3://bucket/prefix");
    store.close();
  });
});
