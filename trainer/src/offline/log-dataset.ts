// Served logs as a training set: the features each prediction was actually made with (as the
// gateway resolved and logged them, defaults included), joined with the feedback labels of those
// predictions by the control plane. Training on what was served leaves no room for skew between
// training and serving. Records come from the log lake a page at a time (labelled ones only).
import { createHash } from "node:crypto";
import { emptyRecord, ownValue, type FeatureSpec, type FeatureValue, type LabelledFields, type LogRecord, type LogsDataset } from "@verge/shared";
import type { RegistryClient } from "../registry/client.ts";
import { holdoutStart, type TrainingSet, type TrainingSplit } from "./training-set.ts";

/** The column type a served feature has in the set (what validation checks values against). */
const TYPE: Record<FeatureSpec["features"][number]["type"], string> = { number: "DOUBLE", boolean: "BOOLEAN", categorical: "VARCHAR" };

export async function loadLogsTrainingSet(registry: Pick<RegistryClient, "logs">, jobModel: string, spec: FeatureSpec, dataset: LogsDataset, signal?: AbortSignal): Promise<TrainingSet> {
  const { logs } = dataset;
  const model = logs.model ?? jobModel;
  const records: (LogRecord & Partial<LabelledFields>)[] = [];
  let cursor: string | undefined;
  do {
    signal?.throwIfAborted();
    const page = await registry.logs(model, { from: logs.from, to: logs.to, version: logs.version, variant: logs.variant, labels: "only", limit: 10_000, cursor });
    records.push(...page.records);
    cursor = page.next;
  } while (cursor);
  // By time, then identity: the same log range always gives the same set, row for row.
  records.sort((a, b) => a.ts - b.ts || (a.request_id < b.request_id ? -1 : a.request_id > b.request_id ? 1 : a.version - b.version));
  const all: TrainingSplit = { rows: [], labels: [], timestamps: [] };
  const hash = createHash("sha256");
  const seen = new Set<string>();
  for (const r of records) {
    const row = emptyRecord<FeatureValue>();
    for (const f of spec.features) {
      const v = ownValue(r.features, f.name);
      if (v !== undefined) seen.add(f.name);
      row[f.name] = v ?? null;
    }
    all.rows.push(row);
    all.labels.push(r.label ?? Number.NaN);
    all.timestamps.push(r.ts);
    hash.update(`${JSON.stringify([r.request_id, r.version, r.ts, row, r.label])}\n`);
  }
  const cut = holdoutStart(all.timestamps, dataset.holdout_fraction);
  const slice = (from: number, to: number): TrainingSplit => ({ rows: all.rows.slice(from, to), labels: all.labels.slice(from, to), timestamps: all.timestamps.slice(from, to) });
  const range = [`from=${new Date(logs.from).toISOString()}`, `to=${new Date(logs.to).toISOString()}`, ...(logs.version !== undefined ? [`version=${logs.version}`] : []), ...(logs.variant !== undefined ? [`variant=${logs.variant}`] : [])];
  return {
    train: slice(0, cut),
    holdout: slice(cut, all.rows.length),
    columns: Object.fromEntries(spec.features.map((f) => [f.name, seen.has(f.name) ? TYPE[f.type] : undefined])),
    dropped: 0,
    sha256: hash.digest("hex"),
    reference: `logs:${model} ${range.join(" ")} (${records.length} labelled predictions)`.slice(0, 1024),
  };
}
