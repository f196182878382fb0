// Batch predictions for hybrid serving: every entity of a table is scored with a version's model
// and the score is written where the gateway looks first (`predictionKey(model, version, entity)`
// → `{ ts, values: { [output]: score } }`). Inputs are built as serving builds them: request-time
// features from the entities table, view features from each view's latest snapshot (stale ones
// missing, as in the online store), encoded by `trainingMatrix`.
import { ApiError, predictionKey, resolveRow, type BatchPredictionsRequest, type FeatureSpec, type OnlineRow, type OnlineStore, type RawRow } from "@verge/shared";
import type { JS } from "@duckdb/node-api";
import { trainingMatrix } from "../dataset/rows.ts";
import { ident, OfflineDataError, Params, type OfflineStore } from "../offline/store.ts";
import { featureValue, timeExpression } from "../offline/training-set.ts";
import { PUT_CHUNK } from "./materialize.ts";

/** Rows per model call. */
export const RUN_CHUNK = 1024;

export interface BatchVersion {
  model: string;
  version: number;
  feature_spec: FeatureSpec;
  outputs: readonly { name: string }[];
}

/** The model on one row-major float32 batch of shape [rows, width]; returns its first output. */
export type RunModel = (x: Float32Array, rows: number, width: number) => Promise<Float32Array>;

/**
 * @example
 * await batchPredictions(offline, online, request, { model: request.model, ...version }, run);
 */
export async function batchPredictions(offline: OfflineStore, online: OnlineStore, request: BatchPredictionsRequest, version: BatchVersion, run: RunModel, now = Date.now()): Promise<{ written: number }> {
  const spec = version.feature_spec;
  const output = version.outputs[0]?.name;
  if (!output) throw new ApiError("bad_request", `${version.model} version ${version.version} declares no outputs to store`);
  const { sql, params } = await scoringQuery(offline, request, spec, now);

  let written = 0;
  let pending: { id: string; row: RawRow }[] = [];
  const score = async () => {
    const rows = pending;
    pending = [];
    const m = encode(spec, rows, request.entities.path);
    const out = await run(m.x, m.rows, m.width);
    if (out.length !== m.rows) {
      throw new ApiError(
        "bad_request",
        `${version.model} version ${version.version}: output "${output}" gives ${out.length / m.rows} values per row; batch predictions store one score per row, so only models with a [batch, 1] first output can be precomputed`,
      );
    }
    const puts = rows.map(({ id }, r): { key: string; row: OnlineRow } => ({ key: predictionKey(version.model, version.version, id), row: { ts: now, values: { [output]: out[r]! } } }));
    for (let i = 0; i < puts.length; i += PUT_CHUNK) {
      const chunk = puts.slice(i, i + PUT_CHUNK);
      await online.putMany(chunk);
      written += chunk.length;
    }
  };
  for await (const batch of offline.stream(sql, params, request.entities.path)) {
    for (const r of batch) {
      const row: Record<string, ReturnType<typeof featureValue>> = {};
      spec.features.forEach((f, j) => (row[f.name] = featureValue(r[`__f${j}`])));
      pending.push({ id: String(r.__id as JS), row });
      if (pending.length === RUN_CHUNK) await score();
    }
  }
  if (pending.length > 0) await score();
  return { written };
}

/**
 * One query for every entity (the last row per key) with its request-time features and, per view,
 * the latest snapshot at or before `now`, left out where older than the view's max age.
 */
async function scoringQuery(offline: OfflineStore, request: BatchPredictionsRequest, spec: FeatureSpec, now: number): Promise<{ sql: string; params: Params }> {
  const p = new Params();
  const { entities } = request;
  const used = spec.views.filter((v) => spec.features.some((f) => f.view === v.name));
  await offline.requireColumns(entities.path, [
    { column: entities.key, field: "entities.key" },
    ...spec.features.filter((f) => !f.view).map((f) => ({ column: f.name, field: `feature_spec.features[${f.name}]` })),
    ...used.filter((v) => v.entity !== entities.key).map((v) => ({ column: v.entity, field: `feature_spec.views[${v.name}].entity` })),
  ]);

  const entitySelect = [`CAST(${ident(entities.key)} AS VARCHAR) AS __id`, `row_number() OVER () AS __row`];
  used.forEach((v, i) => entitySelect.push(`CAST(${ident(v.entity)} AS VARCHAR) AS __e${i}`));
  const select = ["e.__id"];
  spec.features.forEach((f, j) => {
    if (!f.view) {
      entitySelect.push(`${ident(f.name)} AS __f${j}`);
      select.push(`e.__f${j}`);
    }
  });
  const ctes = [
    `e AS (SELECT * FROM (SELECT ${entitySelect.join(", ")} FROM ${offline.scan(entities.path, p)} WHERE ${ident(entities.key)} IS NOT NULL) QUALIFY row_number() OVER (PARTITION BY __id ORDER BY __row DESC) = 1)`,
  ];
  const joins: string[] = [];
  for (const [i, view] of used.entries()) {
    const source = request.views[view.name];
    if (!source) throw new OfflineDataError(`views has no table for feature view "${view.name}" of the version's feature_spec; add { "${view.name}": { "path": ... } }`, undefined, `views.${view.name}`);
    const features = spec.features.map((f, j) => ({ f, j })).filter(({ f }) => f.view === view.name);
    const columns = await offline.requireColumns(source.path, [
      { column: view.entity, field: `feature_spec.views[${view.name}].entity` },
      { column: source.timestamp, field: `views.${view.name}.timestamp` },
      ...features.map(({ f }) => ({ column: f.name, field: `feature_spec.features[${f.name}]` })),
    ]);
    const ts = timeExpression(columns, source.path, source.timestamp, `views.${view.name}.timestamp`);
    const viewSelect = [`CAST(${ident(view.entity)} AS VARCHAR) AS __key`, `${ts} AS __ts`, `row_number() OVER () AS __row`, ...features.map(({ f, j }) => `${ident(f.name)} AS __f${j}`)];
    ctes.push(
      `v${i} AS (SELECT * FROM (SELECT ${viewSelect.join(", ")} FROM ${offline.scan(source.path, p)} WHERE ${ident(view.entity)} IS NOT NULL AND ${ts} IS NOT NULL AND ${ts} <= ${p.bind(now)}) ` +
        `QUALIFY row_number() OVER (PARTITION BY __key ORDER BY __ts DESC, __row DESC) = 1)`,
    );
    joins.push(`LEFT JOIN v${i} ON e.__e${i} = v${i}.__key`);
    // As the gateway's lookup: a row older than max_age_s at `now` is missing.
    const fresh = view.max_age_s === undefined ? `v${i}.__ts IS NOT NULL` : `${p.bind(now)} - v${i}.__ts <= ${p.bind(view.max_age_s * 1000)}`;
    for (const { j } of features) select.push(`CASE WHEN ${fresh} THEN v${i}.__f${j} END AS __f${j}`);
  }
  return { sql: `WITH ${ctes.join(",\n")}\nSELECT ${select.join(", ")} FROM e ${joins.join(" ")} ORDER BY e.__row`, params: p };
}

/** The model's input for a batch; a value of the wrong type names the entity and the table. */
function encode(spec: FeatureSpec, rows: readonly { id: string; row: RawRow }[], path: string) {
  try {
    return trainingMatrix(spec, rows.map((r) => r.row));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    for (const { id, row } of rows) resolveRow(spec, row, `${path}: entity ${id}`);
    throw err;
  }
}
