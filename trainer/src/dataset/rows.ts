// Training rows → the model's input matrix, through the very functions the gateway serves with
// (shared/features.ts), so a raw row becomes the same tensor in training and in serving.
import { encodeRows, inputWidth, resolveRow, type FeatureSpec, type RawRow } from "@verge/shared";

export interface TrainingMatrix {
  x: Float32Array;
  rows: number;
  width: number;
  /** Per feature: how many rows took the default. */
  defaulted: Record<string, number>;
}

export function trainingMatrix(spec: FeatureSpec, rows: readonly RawRow[]): TrainingMatrix {
  const defaulted: Record<string, number> = {};
  const resolved = rows.map((raw, i) => {
    const r = resolveRow(spec, raw, `rows[${i}]`);
    for (const d of r.defaulted) defaulted[d.feature] = (defaulted[d.feature] ?? 0) + 1;
    return r.values;
  });
  return { x: encodeRows(spec, resolved), rows: rows.length, width: inputWidth(spec), defaulted };
}

/** The tensor's column names, in order: a feature's name, or `name=value` per one-hot column. */
export function encodedColumns(spec: Pick<FeatureSpec, "features">): string[] {
  return spec.features.flatMap((f) => (f.type === "categorical" ? f.vocabulary.map((v) => `${f.name}=${v}`) : [f.name]));
}
