// Point-in-time correct training sets: each label event gets every feature view's snapshot as it
// was at the event's time (DuckDB ASOF join), never a later one, and a snapshot older than the
// view's max age counts as missing, exactly as the gateway treats a stale online row.
import type { FeatureSpec, FeatureValue, RawRow, TableDataset } from "@verge/shared";
import type { JS } from "@duckdb/node-api";
import type { TrainingData } from "../algorithms/types.ts";
import { trainingMatrix } from "../dataset/rows.ts";
import { ident, OfflineDataError, Params, type OfflineStore } from "./store.ts";

export interface TrainingSplit {
  /** Feature name → raw value; null or absent where the value is missing (the default applies). */
  rows: RawRow[];
  /** One per row; NaN where the label is missing or not a number (validation reports it). */
  labels: number[];
  /** Event times, epoch ms, ascending. */
  timestamps: number[];
}

export interface TrainingSet {
  train: TrainingSplit;
  /** The latest events by time, for evaluation. */
  holdout: TrainingSplit;
  /** Feature name → the DuckDB type of its source column; absent when the table lacks the column. */
  columns: Record<string, string | undefined>;
  /** Label events dropped for having no timestamp. */
  dropped: number;
  /** sha256 of the bytes of every input file (labels, then views by name): lineage `training_data_sha256`. */
  sha256: string;
  /** Where the data came from: lineage `training_data`. */
  reference: string;
}

/** Reads the dataset's label events and joins each view's as-of snapshot onto them. */
export async function loadTrainingSet(store: OfflineStore, spec: FeatureSpec, dataset: TableDataset): Promise<TrainingSet> {
  const p = new Params();
  const { labels } = dataset;
  const requestFeatures = spec.features.filter((f) => !f.view);
  const views = spec.views.filter((v) => spec.features.some((f) => f.view === v.name));
  const columns: Record<string, string | undefined> = {};

  const labelColumns = await store.requireColumns(labels.path, [
    { column: labels.timestamp, field: "dataset.labels.timestamp" },
    { column: labels.label, field: "dataset.labels.label" },
    ...views.map((v) => ({ column: v.entity, field: `feature_spec.views[${v.name}].entity` })),
  ]);
  const ts = timeExpression(labelColumns, labels.path, labels.timestamp, "dataset.labels.timestamp");
  const labelSelect = [`${ts} AS __ts`, `${ident(labels.label)} AS __label`, `row_number() OVER () AS __row`];
  views.forEach((v, i) => labelSelect.push(`CAST(${ident(v.entity)} AS VARCHAR) AS __e${i}`));
  for (const f of requestFeatures) {
    columns[f.name] = labelColumns.get(f.name);
    labelSelect.push(`${columns[f.name] ? ident(f.name) : "NULL"} AS ${ident(f.name)}`);
  }
  const since = dataset.since === undefined ? "" : ` AND ${ts} >= ${p.bind(dataset.since)}`;
  const ctes = [`l AS (SELECT ${labelSelect.join(", ")} FROM ${store.scan(labels.path, p)} WHERE ${ts} IS NOT NULL${since})`];
  const select = ["l.__ts", "l.__label", ...requestFeatures.map((f) => `l.${ident(f.name)}`)];
  const joins: string[] = [];

  for (const [i, view] of views.entries()) {
    const source = dataset.views[view.name];
    if (!source) throw new OfflineDataError(`dataset.views has no table for feature view "${view.name}"; add { "${view.name}": { "path": ... } }`, undefined, `dataset.views.${view.name}`);
    const viewColumns = await store.requireColumns(source.path, [
      { column: view.entity, field: `feature_spec.views[${view.name}].entity` },
      { column: source.timestamp, field: `dataset.views.${view.name}.timestamp` },
    ]);
    const vts = timeExpression(viewColumns, source.path, source.timestamp, `dataset.views.${view.name}.timestamp`);
    const features = spec.features.filter((f) => f.view === view.name);
    const viewSelect = [`CAST(${ident(view.entity)} AS VARCHAR) AS __key`, `${vts} AS __ts`];
    for (const f of features) {
      columns[f.name] = viewColumns.get(f.name);
      viewSelect.push(`${columns[f.name] ? ident(f.name) : "NULL"} AS ${ident(f.name)}`);
    }
    ctes.push(`v${i} AS (SELECT ${viewSelect.join(", ")} FROM ${store.scan(source.path, p)} WHERE ${ident(view.entity)} IS NOT NULL AND ${vts} IS NOT NULL)`);
    joins.push(`ASOF LEFT JOIN v${i} ON l.__e${i} = v${i}.__key AND l.__ts >= v${i}.__ts`);
    // Serving treats a row as stale when now − ts > max_age; the same test at the event's time here.
    const fresh = view.max_age_s === undefined ? `v${i}.__ts IS NOT NULL` : `l.__ts - v${i}.__ts <= ${p.bind(view.max_age_s * 1000)}`;
    for (const f of features) select.push(`CASE WHEN ${fresh} THEN v${i}.${ident(f.name)} END AS ${ident(f.name)}`);
  }

  const sql = `WITH ${ctes.join(",\n")}\nSELECT ${select.join(", ")} FROM l ${joins.join(" ")} ORDER BY l.__ts, l.__row`;
  const result = await store.query(sql, p, labels.path);
  const q = new Params();
  const [untimed] = await store.query(`SELECT count(*) AS n FROM ${store.scan(labels.path, q)} WHERE ${ts} IS NULL`, q, labels.path);

  const all: TrainingSplit = { rows: [], labels: [], timestamps: [] };
  for (const r of result) {
    const row: Record<string, FeatureValue> = {};
    for (const f of spec.features) row[f.name] = featureValue(r[f.name]);
    all.rows.push(row);
    all.labels.push(labelValue(r.__label));
    all.timestamps.push(Number(r.__ts));
  }
  const cut = holdoutStart(all.timestamps, dataset.holdout_fraction);
  const sources = [labels.path, ...Object.keys(dataset.views).sort().filter((name) => views.some((v) => v.name === name)).map((name) => dataset.views[name]!.path)];
  return {
    train: slice(all, 0, cut),
    holdout: slice(all, cut, all.rows.length),
    columns,
    dropped: Number(untimed?.n ?? 0),
    sha256: await store.sha256(sources),
    reference: describe(store, dataset, views.map((v) => v.name)).slice(0, 1024),
  };
}

/** A split as the algorithms take it, encoded by the serving path's own functions. */
export function trainingData(spec: FeatureSpec, split: TrainingSplit): TrainingData {
  const m = trainingMatrix(spec, split.rows);
  return { x: m.x, y: Float32Array.from(split.labels), rows: m.rows, width: m.width };
}

/**
 * The index where the holdout starts: the latest `fraction` of events, moved earlier so that events
 * sharing the boundary's timestamp all land on one side (unless that would leave nothing to train on).
 */
export function holdoutStart(timestamps: readonly number[], fraction: number): number {
  const n = timestamps.length;
  if (n < 2) return n;
  const start = Math.min(n - 1, Math.max(1, n - Math.round(n * fraction)));
  let cut = start;
  while (cut > 0 && timestamps[cut - 1] === timestamps[start]) cut--;
  return cut === 0 ? start : cut;
}

/** Epoch milliseconds from a TIMESTAMP/DATE column or a numeric epoch-ms column. */
export function timeExpression(columns: ReadonlyMap<string, string>, path: string, column: string, field: string): string {
  const type = columns.get(column) ?? "";
  const c = ident(column);
  if (/^TIMESTAMP WITH TIME ZONE$|^TIMESTAMPTZ$/i.test(type)) return `epoch_ms(${c})`;
  if (/^(TIMESTAMP|DATE)/i.test(type)) return `epoch_ms(CAST(${c} AS TIMESTAMP))`;
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/i.test(type)) return `CAST(${c} AS BIGINT)`;
  throw new OfflineDataError(`${path}: column "${column}" is ${type}; a time column must be a TIMESTAMP or a number of epoch milliseconds`, path, field);
}

/** A DuckDB value as a feature value: numbers (BIGINT and DECIMAL too), strings, booleans; times as ISO strings. */
export function featureValue(v: JS | undefined): FeatureValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, (_, x: unknown) => (typeof x === "bigint" ? Number(x) : x));
}

function labelValue(v: JS | undefined): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string" && v.trim() !== "") return Number(v);
  return Number.NaN;
}

function slice(s: TrainingSplit, from: number, to: number): TrainingSplit {
  return { rows: s.rows.slice(from, to), labels: s.labels.slice(from, to), timestamps: s.timestamps.slice(from, to) };
}

function describe(store: OfflineStore, dataset: TableDataset, views: readonly string[]): string {
  const parts = [`labels=${store.location(dataset.labels.path)}`, ...views.map((v) => `${v}=${store.location(dataset.views[v]!.path)}`)];
  if (dataset.since !== undefined) parts.push(`since=${new Date(dataset.since).toISOString()}`);
  return parts.join(" ");
}
