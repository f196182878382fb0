// Raw feature values → the model's input tensor. The gateway (serving) and the trainer (training
// rows) both call these functions, so one raw row always becomes the same tensor on both sides.
import { ApiError } from "./errors.ts";
import type { FeatureValue } from "./schemas/common.ts";
import { MAX_REPORTED_NAMES, type Degraded, type Ignored } from "./schemas/predict.ts";
import type { Feature, FeatureSpec } from "./schemas/feature-spec.ts";

export type RawRow = Readonly<Record<string, FeatureValue | undefined>>;

/**
 * A row's own value for a feature. Feature names index plain objects parsed from JSON, so a
 * feature named `constructor` or `toString` would otherwise read the inherited function.
 */
export function ownValue<T>(row: Readonly<Record<string, T>> | undefined, name: string): T | undefined {
  return row !== undefined && Object.hasOwn(row, name) ? row[name] : undefined;
}

/** An empty record keyed by names from outside: no prototype, so no name is inherited or special. */
export const emptyRecord = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** Number of tensor columns a spec produces (categoricals are one-hot). */
export function inputWidth(spec: Pick<FeatureSpec, "features">): number {
  let width = 0;
  for (const f of spec.features) width += f.type === "categorical" ? f.vocabulary.length : 1;
  return width;
}

/**
 * Resolves one row: values present and of the right type are kept, absent ones take the spec's
 * default and are reported. A present value of the wrong type is a client error naming the field.
 */
export function resolveRow(
  spec: Pick<FeatureSpec, "features">,
  raw: RawRow,
  where = "features",
  /** Why an absent value is absent, when it is known better than "missing" (stale, store down…). */
  reasons?: ReadonlyMap<string, Degraded["reason"]>,
): { values: Record<string, FeatureValue>; defaulted: Degraded[]; ignored: Ignored[] } {
  const values = emptyRecord<FeatureValue>();
  const defaulted: Degraded[] = [];
  const ignored: Ignored[] = [];
  for (const f of spec.features) {
    const v = ownValue(raw, f.name);
    if (v === undefined || v === null) {
      values[f.name] = f.default;
      defaulted.push({ feature: f.name, reason: reasons?.get(f.name) ?? "missing" });
    } else if (!typeMatches(f, v)) {
      const what = typeof v === "number" ? `a number beyond float32 range (${v})` : typeof v;
      throw new ApiError("bad_request", `${where}.${f.name}: expected ${f.type}, got ${what}`);
    } else {
      values[f.name] = v;
      if (f.type === "categorical" && !f.vocabulary.includes(v as string) && ignored.length < MAX_REPORTED_NAMES) ignored.push({ feature: f.name, reason: "out_of_vocabulary" });
    }
  }
  return { values, defaulted, ignored };
}

/** The request's feature names that the spec does not have (at most MAX_REPORTED_NAMES). */
export function unknownFeatures(spec: Pick<FeatureSpec, "features">, given: Readonly<Record<string, unknown>> | undefined): Ignored[] {
  if (!given) return [];
  const known = new Set(spec.features.map((f) => f.name));
  const out: Ignored[] = [];
  for (const name of Object.keys(given)) {
    if (!known.has(name)) out.push({ feature: name, reason: "unknown_feature" });
    if (out.length >= MAX_REPORTED_NAMES) break;
  }
  return out;
}

/** Writes resolved rows into one row-major float32 tensor of shape [rows, inputWidth(spec)]. */
export function encodeRows(spec: Pick<FeatureSpec, "features">, rows: readonly RawRow[]): Float32Array {
  const width = inputWidth(spec);
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    let col = r * width;
    for (const f of spec.features) {
      const v = ownValue(row, f.name) ?? f.default;
      if (f.type === "categorical") {
        const hot = f.vocabulary.indexOf(String(v));
        if (hot >= 0) out[col + hot] = 1;
        col += f.vocabulary.length;
      } else {
        out[col++] = f.type === "boolean" ? (v === true ? 1 : 0) : Number(v);
      }
    }
  });
  return out;
}

const FLOAT32_MAX = 3.4028234663852886e38;

export function typeMatches(f: Feature, v: FeatureValue): boolean {
  switch (f.type) {
    case "number":
      // The model computes in float32: anything beyond its range would become ±Infinity.
      return typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX;
    case "boolean":
      return typeof v === "boolean";
    case "categorical":
      return typeof v === "string";
  }
}
