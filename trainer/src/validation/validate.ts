// Data validation before training: schema, labels, missing rates, value ranges, row count, and
// shift against the previous version's training data. Every failing check says what to do.
import { ownValue, psi, typeMatches, type DriftReference, type Feature, type FeatureSpec, type FeatureValue, type RawRow, type ValidationRules } from "@verge/shared";
import type { TrainTask } from "../algorithms/types.ts";
import { countOn } from "./reference.ts";

export interface ValidationCheck {
  name: "rows" | "schema" | "label" | "missing_rate" | "range" | "drift";
  feature?: string;
  ok: boolean;
  value: number | string | null;
  limit: number | string | null;
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  checks: ValidationCheck[];
  rows: number;
}

export interface ValidationInput {
  spec: Pick<FeatureSpec, "features">;
  task: TrainTask;
  rows: readonly RawRow[];
  /** One per row; NaN where missing or not a number. */
  labels: readonly number[];
  /** Feature → its source column's type (from the training set); absent entry: the column is missing. */
  columns?: Readonly<Record<string, string | undefined>>;
}

const COLUMN_TYPES: Record<Feature["type"], RegExp> = {
  number: /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/i,
  boolean: /^BOOLEAN$/i,
  categorical: /^VARCHAR$/i,
};

/**
 * @example
 * const report = validateTrainingSet({ spec, task, rows, labels, columns }, rules, previous?.reference);
 * if (!report.ok) throw new JobFailure(report.checks.filter((c) => !c.ok).map((c) => c.message).join("; "));
 */
export function validateTrainingSet(input: ValidationInput, rules: ValidationRules, previous?: DriftReference): ValidationReport {
  const { spec, rows } = input;
  const n = rows.length;
  const checks: ValidationCheck[] = [
    {
      name: "rows",
      ok: n >= rules.min_rows,
      value: n,
      limit: rules.min_rows,
      message: n >= rules.min_rows ? `${n} rows` : `only ${n} rows to train on, fewer than min_rows ${rules.min_rows}: widen the dataset (an earlier "since", more label events) or lower validation.min_rows`,
    },
    labelCheck(input),
  ];

  for (const f of spec.features) {
    const values = rows.map((r) => r[f.name]);
    checks.push(schemaCheck(f, values, input.columns));
    const missing = n === 0 ? 0 : values.filter((v) => v === null || v === undefined).length / n;
    checks.push({
      name: "missing_rate",
      feature: f.name,
      ok: missing <= rules.max_missing_rate,
      value: round(missing),
      limit: rules.max_missing_rate,
      message:
        missing <= rules.max_missing_rate
          ? `${pct(missing)} missing`
          : `${f.name} is missing in ${pct(missing)} of rows (limit ${pct(rules.max_missing_rate)}), so it would mostly train on its default: check the ${f.view ? `"${f.view}" view's snapshots cover the label events (entity keys, times, max_age_s)` : "request-time column in the labels table"}, or raise validation.max_missing_rate`,
    });
  }

  for (const [name, range] of Object.entries(rules.ranges)) checks.push(rangeCheck(spec.features.find((f) => f.name === name), name, range, rows));

  for (const f of spec.features) {
    const reference = ownValue(previous?.features, f.name);
    if (reference) checks.push(driftCheck(f, reference, rows, rules.max_psi));
  }
  return { ok: checks.every((c) => c.ok), checks, rows: n };
}

function labelCheck({ task, labels }: ValidationInput): ValidationCheck {
  const missing = labels.filter((y) => Number.isNaN(y)).length;
  const bad = task === "binary_classification" ? labels.filter((y) => !Number.isNaN(y) && y !== 0 && y !== 1).length : labels.filter((y) => !Number.isNaN(y) && !Number.isFinite(y)).length;
  const expected = task === "binary_classification" ? "0 or 1" : "a finite number";
  if (missing + bad === 0) return { name: "label", ok: true, value: 0, limit: 0, message: `every label is ${expected}` };
  const example = labels.find((y) => !Number.isNaN(y) && (task === "binary_classification" ? y !== 0 && y !== 1 : !Number.isFinite(y)));
  return {
    name: "label",
    ok: false,
    value: missing + bad,
    limit: 0,
    message: `${missing + bad} of ${labels.length} labels are not ${expected} (${missing} missing or not numeric${example === undefined ? "" : `, e.g. ${example}`}) for ${task}: fix the label column or filter those events out`,
  };
}

function schemaCheck(f: Feature, values: readonly (FeatureValue | undefined)[], columns: ValidationInput["columns"]): ValidationCheck {
  const base = { name: "schema" as const, feature: f.name, limit: f.type };
  if (columns && !columns[f.name]) {
    return { ...base, ok: false, value: null, message: `no column "${f.name}" for feature ${f.name}: add it to the ${f.view ? `"${f.view}" view's table` : "labels table"} or remove the feature from feature_spec` };
  }
  const type = columns?.[f.name];
  if (type && !COLUMN_TYPES[f.type].test(type)) {
    return { ...base, ok: false, value: type, message: `column "${f.name}" is ${type}, but feature ${f.name} is ${f.type}: write it as ${f.type === "number" ? "a numeric" : f.type === "boolean" ? "a BOOLEAN" : "a string (VARCHAR)"} column or change the feature's type` };
  }
  const wrong = values.filter((v): v is FeatureValue => v !== null && v !== undefined && !typeMatches(f, v));
  if (wrong.length > 0) {
    return { ...base, ok: false, value: type ?? typeof wrong[0], message: `${wrong.length} values of ${f.name} are not ${f.type} (e.g. ${JSON.stringify(wrong[0])}): fix the column's type or values` };
  }
  return { ...base, ok: true, value: type ?? f.type, message: `${f.name}: ${type ?? f.type}` };
}

function rangeCheck(f: Feature | undefined, name: string, range: { min?: number | undefined; max?: number | undefined }, rows: readonly RawRow[]): ValidationCheck {
  const limit = `[${range.min ?? "-∞"}, ${range.max ?? "∞"}]`;
  if (f?.type !== "number") {
    return { name: "range", feature: name, ok: false, value: null, limit, message: `validation.ranges names "${name}", which is not a numeric feature of feature_spec: fix the name or remove the range` };
  }
  const values = rows.map((r) => r[name]).filter((v): v is number => typeof v === "number");
  const outside = values.filter((v) => (range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max));
  const observed = values.length ? `[${Math.min(...values)}, ${Math.max(...values)}]` : "no values";
  return {
    name: "range",
    feature: name,
    ok: outside.length === 0,
    value: outside.length,
    limit,
    message: outside.length === 0 ? `${name} within ${limit}` : `${outside.length} values of ${name} fall outside ${limit} (observed ${observed}): fix the upstream data or widen validation.ranges.${name}`,
  };
}

function driftCheck(f: Feature, reference: NonNullable<DriftReference["features"][string]>, rows: readonly RawRow[], maxPsi: number): ValidationCheck {
  const numeric = "edges" in reference;
  if (numeric !== (f.type === "number")) {
    return { name: "drift", feature: f.name, ok: true, value: null, limit: maxPsi, message: `${f.name} changed type since the previous version; not compared` };
  }
  const present = rows.map((r) => r[f.name]).filter((v) => v !== null && v !== undefined);
  const current = countOn("edges" in reference ? { edges: reference.edges } : { categories: reference.categories }, present).counts;
  if (current.every((c) => c === 0)) return { name: "drift", feature: f.name, ok: true, value: null, limit: maxPsi, message: `${f.name} has no values to compare` };
  const value = psi(reference.counts, current);
  return {
    name: "drift",
    feature: f.name,
    ok: value <= maxPsi,
    value: round(value),
    limit: maxPsi,
    message:
      value <= maxPsi
        ? `PSI ${value.toFixed(3)} against the previous training set`
        : `${f.name} shifted against the previous version's training data (PSI ${value.toFixed(3)} > ${maxPsi}): check the upstream pipeline for ${f.name}; if the change is real, raise validation.max_psi for this job`,
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
