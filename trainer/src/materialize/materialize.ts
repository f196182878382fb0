// Materialization: each feature view's latest snapshot per entity, from the offline store to the
// online store the gateway reads (`onlineKey(view, entity)` → `{ ts, values }`). Incremental: only
// entities whose latest snapshot is newer than the view's watermark are pushed, plus every entity
// with a row in a file that was not there last run (rows that arrive late, with an event time at or
// below the watermark, land in new files); a view whose feature set changed is pushed whole. The
// watermark moves only once every write of the view has succeeded, so a failed run is simply run
// again, and every write is idempotent (the entity's latest row), so pushing one again is harmless.
import { onlineKey, type MaterializeRequest, type OnlineRow, type OnlineStore } from "@verge/shared";
import { ident, OfflineDataError, Params, type OfflineStore } from "../offline/store.ts";
import { featureValue, timeExpression } from "../offline/training-set.ts";
import { readWatermarks, saveWatermark, type ViewWatermark } from "./watermarks.ts";

/** Rows per `putMany`: one Upstash pipeline or one batch of KV puts. */
export const PUT_CHUNK = 500;

export interface MaterializeResult {
  views: Record<string, { written: number; watermark: number | null }>;
}

/**
 * @example
 * await withOfflineStore(options, (offline) => materialize(offline, online, materializeSchema.parse(body), config.VERGE_TRAINER_STATE));
 */
export async function materialize(offline: OfflineStore, online: OnlineStore, request: MaterializeRequest, stateDir: string): Promise<MaterializeResult> {
  const names = request.views.map((v) => v.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new OfflineDataError(`views lists "${duplicate}" twice; materialize each view once per request`, undefined, "views");

  const state = await readWatermarks(stateDir);
  const result: MaterializeResult = { views: {} };
  // Views one after another: a view's watermark is saved as soon as that view is fully written.
  for (const [i, view] of request.views.entries()) {
    // A view pointed at another table starts over: the old watermark says nothing about the new data.
    const stored = request.full || state.views[view.name]?.path !== view.path ? undefined : state.views[view.name];
    const { written, latest, since, files, features } = await pushView(offline, online, view, stored, `views[${i}]`);
    const watermark = Math.max(latest ?? -Infinity, since ?? -Infinity);
    if (Number.isFinite(watermark)) await saveWatermark(stateDir, view.name, { watermark, path: view.path, files, features });
    result.views[view.name] = { written, watermark: Number.isFinite(watermark) ? watermark : null };
  }
  return result;
}

type ViewRequest = MaterializeRequest["views"][number];

interface Pushed {
  written: number;
  latest: number | undefined;
  /** The watermark the run started from; undefined when it pushed the whole view. */
  since: number | undefined;
  files: string[];
  features: string[];
}

async function pushView(offline: OfflineStore, online: OnlineStore, view: ViewRequest, stored: ViewWatermark | undefined, field: string): Promise<Pushed> {
  const columns = await offline.requireColumns(view.path, [
    { column: view.entity, field: `${field}.entity` },
    { column: view.timestamp, field: `${field}.timestamp` },
    ...(view.features ?? []).map((f, j) => ({ column: f, field: `${field}.features[${j}]` })),
  ]);
  const features = view.features ?? [...columns.keys()].filter((c) => c !== view.entity && c !== view.timestamp);
  // Features added to (or dropped from) the view: every entity needs its row again.
  const sameFeatures = stored?.features === undefined || [...stored.features].sort().join("\0") === [...features].sort().join("\0");
  const since = sameFeatures ? stored?.watermark : undefined;
  // Listed before the scan: a file that appears in between is scanned but not yet marked seen,
  // so the next run pushes its entities again (idempotent) rather than missing them.
  const files = await offline.files(view.path);
  const ts = timeExpression(columns, view.path, view.timestamp, `${field}.timestamp`);
  const p = new Params();
  const select = [`CAST(${ident(view.entity)} AS VARCHAR) AS __key`, `${ts} AS __ts`, "__file", ...features.map((f, j) => `${ident(f)} AS __f${j}`)];
  // Since the watermark: entities whose latest row is newer, and entities with a row in a file the
  // last run did not see (a late row, older than the watermark, that may now be the latest).
  const seen = stored?.files;
  const changed =
    since === undefined
      ? ""
      : ` WHERE __ts > ${p.bind(since)}${seen === undefined ? "" : ` OR __key IN (SELECT __key FROM s WHERE NOT list_contains(from_json(${p.bind(JSON.stringify(seen))}, '["VARCHAR"]'), __file))`}`;
  // Ties on time go to the row read last, as a later append to the table would be.
  const sql = `
    WITH s AS (SELECT ${select.join(", ")}, row_number() OVER () AS __row FROM ${offline.scan(view.path, p, "__file")} WHERE ${ident(view.entity)} IS NOT NULL AND ${ts} IS NOT NULL),
    latest AS (SELECT * FROM s QUALIFY row_number() OVER (PARTITION BY __key ORDER BY __ts DESC, __row DESC) = 1)
    SELECT * EXCLUDE (__row, __file) FROM latest${changed}`;

  let written = 0;
  let latest: number | undefined;
  let pending: { key: string; row: OnlineRow }[] = [];
  const flush = async () => {
    await online.putMany(pending);
    written += pending.length;
    pending = [];
  };
  for await (const batch of offline.stream(sql, p, view.path)) {
    for (const r of batch) {
      const time = Number(r.__ts);
      const values: OnlineRow["values"] = {};
      features.forEach((f, j) => (values[f] = featureValue(r[`__f${j}`])));
      pending.push({ key: onlineKey(view.name, String(r.__key)), row: { ts: time, values } });
      latest = latest === undefined || time > latest ? time : latest;
      if (pending.length === PUT_CHUNK) await flush();
    }
  }
  if (pending.length > 0) await flush();
  return { written, latest, since, files, features };
}
