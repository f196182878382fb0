// Training-set validation (each check passing and failing with a message that says what to do) and
// the drift reference stored with a version (binned exactly as the control plane's rollups bin).
import { describe, expect, it } from "vitest";
import { binOf, driftReferenceSchema, featureSpecSchema, psi, validationRulesSchema, type RawRow } from "@verge/shared";
import { quantileEdges, referenceHistograms, scores } from "../src/validation/reference.ts";
import { validateTrainingSet, type ValidationCheck, type ValidationInput } from "../src/validation/validate.ts";

const spec = featureSpecSchema.parse({
  views: [{ name: "user", entity: "user_id" }],
  features: [
    { name: "amount", type: "number", default: 0 },
    { name: "score", type: "number", default: 0, view: "user" },
    { name: "plan", type: "categorical", vocabulary: ["free", "pro"], default: "free", view: "user" },
    { name: "mobile", type: "boolean", default: false },
  ],
});
const columns = { amount: "DOUBLE", score: "DOUBLE", plan: "VARCHAR", mobile: "BOOLEAN" };

/** A deterministic, healthy training set: n rows, labels alternating 0/1. */
function healthy(n = 200, shift = 0): { rows: RawRow[]; labels: number[] } {
  const rows = Array.from({ length: n }, (_, i) => ({
    amount: ((i * 37) % 100) + shift,
    score: (i % 10) / 10,
    plan: i % 3 === 0 ? "pro" : "free",
    mobile: i % 2 === 0,
  }));
  return { rows, labels: rows.map((_, i) => i % 2) };
}

const rules = (over: object = {}) => validationRulesSchema.parse(over);
const input = (over: Partial<ValidationInput> = {}): ValidationInput => ({ spec, task: "binary_classification", columns, ...healthy(), ...over });
const find = (checks: ValidationCheck[], name: ValidationCheck["name"], feature?: string) => {
  const c = checks.find((x) => x.name === name && (feature === undefined || x.feature === feature));
  if (!c) throw new Error(`no ${name} check${feature ? ` for ${feature}` : ""}`);
  return c;
};

describe("validateTrainingSet", () => {
  it("passes a healthy training set, every check ok", () => {
    const previous = referenceHistograms(spec, healthy().rows);
    const report = validateTrainingSet(input(), rules({ ranges: { amount: { min: 0, max: 100 } } }), previous);
    expect(report.ok).toBe(true);
    expect(report.rows).toBe(200);
    expect(new Set(report.checks.map((c) => c.name))).toEqual(new Set(["rows", "label", "schema", "missing_rate", "range", "drift"]));
    expect(report.checks.filter((c) => c.name === "drift")).toHaveLength(4);
  });

  it("rows: fails below min_rows and says how to get more", () => {
    const c = find(validateTrainingSet(input(healthy(50)), rules({ min_rows: 100 })).checks, "rows");
    expect(c).toMatchObject({ ok: false, value: 50, limit: 100 });
    expect(c.message).toMatch(/only 50 rows.*min_rows 100.*since.*lower validation\.min_rows/);
    expect(find(validateTrainingSet(input(healthy(100)), rules({ min_rows: 100 })).checks, "rows").ok).toBe(true);
  });

  it("schema: a missing column, a column of the wrong type, and values of the wrong type each fail", () => {
    const missing = find(validateTrainingSet(input({ columns: { ...columns, score: undefined } }), rules()).checks, "schema", "score");
    expect(missing).toMatchObject({ ok: false, value: null });
    expect(missing.message).toMatch(/no column "score".*"user" view's table.*or remove the feature/);

    const wrongColumn = find(validateTrainingSet(input({ columns: { ...columns, amount: "VARCHAR" } }), rules()).checks, "schema", "amount");
    expect(wrongColumn).toMatchObject({ ok: false, value: "VARCHAR", limit: "number" });
    expect(wrongColumn.message).toMatch(/column "amount" is VARCHAR, but feature amount is number: write it as a numeric column/);

    const { rows, labels } = healthy();
    rows[3] = { ...rows[3], plan: 7 };
    const wrongValue = find(validateTrainingSet(input({ rows, labels, columns: undefined }), rules()).checks, "schema", "plan");
    expect(wrongValue).toMatchObject({ ok: false });
    expect(wrongValue.message).toMatch(/1 values of plan are not categorical \(e\.g\. 7\)/);

    expect(find(validateTrainingSet(input(), rules()).checks, "schema", "mobile")).toMatchObject({ ok: true, value: "BOOLEAN" });
  });

  it("label: missing or out-of-domain labels fail for the task", () => {
    const { rows, labels } = healthy();
    labels[0] = Number.NaN;
    labels[1] = 2;
    const c = find(validateTrainingSet(input({ rows, labels }), rules()).checks, "label");
    expect(c).toMatchObject({ ok: false, value: 2 });
    expect(c.message).toMatch(/2 of 200 labels are not 0 or 1 \(1 missing or not numeric, e\.g\. 2\).*fix the label column/);

    // 2 is a fine regression target; NaN still is not.
    const regression = find(validateTrainingSet(input({ rows, labels, task: "regression" }), rules()).checks, "label");
    expect(regression).toMatchObject({ ok: false, value: 1 });
    expect(find(validateTrainingSet(input({ task: "regression", labels: healthy().labels.map((y) => y * 3.5) }), rules()).checks, "label").ok).toBe(true);
  });

  it("missing_rate: a feature mostly absent fails and points at the view's coverage", () => {
    const { rows, labels } = healthy();
    const sparse = rows.map((r, i) => (i % 10 < 6 ? { ...r, score: null } : r));
    const c = find(validateTrainingSet(input({ rows: sparse, labels }), rules({ max_missing_rate: 0.5 })).checks, "missing_rate", "score");
    expect(c).toMatchObject({ ok: false, value: 0.6, limit: 0.5 });
    expect(c.message).toMatch(/score is missing in 60\.0% of rows \(limit 50\.0%\).*"user" view's snapshots cover the label events.*max_missing_rate/);
    expect(find(validateTrainingSet(input({ rows: sparse, labels }), rules({ max_missing_rate: 0.6 })).checks, "missing_rate", "score").ok).toBe(true);
  });

  it("range: values outside the allowed range fail with the observed range; a non-numeric name fails too", () => {
    const c = find(validateTrainingSet(input(), rules({ ranges: { amount: { min: 0, max: 50 } } })).checks, "range", "amount");
    expect(c.ok).toBe(false);
    expect(c.message).toMatch(/values of amount fall outside \[0, 50\] \(observed \[0, 99\]\).*widen validation\.ranges\.amount/);
    expect(find(validateTrainingSet(input(), rules({ ranges: { amount: { min: 0 } } })).checks, "range", "amount").ok).toBe(true);

    const unknown = find(validateTrainingSet(input(), rules({ ranges: { plan: { max: 1 } } })).checks, "range", "plan");
    expect(unknown).toMatchObject({ ok: false });
    expect(unknown.message).toMatch(/"plan", which is not a numeric feature/);
  });

  it("drift: PSI against the previous version's reference passes when stable and fails when shifted", () => {
    const previous = referenceHistograms(spec, healthy().rows);
    const stable = find(validateTrainingSet(input(healthy(400)), rules(), previous).checks, "drift", "amount");
    expect(stable.ok).toBe(true);
    expect(stable.value).toBeLessThan(0.05);

    const shifted = find(validateTrainingSet(input(healthy(200, 40)), rules({ max_psi: 0.25 }), previous).checks, "drift", "amount");
    expect(shifted.ok).toBe(false);
    expect(shifted.value).toBeGreaterThan(0.25);
    expect(shifted.message).toMatch(/amount shifted against the previous version's training data \(PSI \d+\.\d{3} > 0\.25\).*raise validation\.max_psi/);
    // The value is the shared PSI over the reference's own bins.
    const current = healthy(200, 40).rows.map((r) => r.amount);
    const h = previous.features.amount!;
    const counts = new Array<number>(h.counts.length).fill(0);
    for (const v of current) counts[binOf(h, v)!]! += 1;
    expect(shifted.value).toBeCloseTo(psi(h.counts, counts), 5);

    const { rows, labels } = healthy();
    const allPro = rows.map((r) => ({ ...r, plan: "pro" }));
    expect(find(validateTrainingSet(input({ rows: allPro, labels }), rules(), previous).checks, "drift", "plan").ok).toBe(false);
  });
});

describe("referenceHistograms", () => {
  it("validates against driftReferenceSchema, for features and the prediction", () => {
    const { rows } = healthy();
    const predictions = Float32Array.from(rows, (_, i) => (i % 17) / 17);
    const reference = referenceHistograms(spec, rows, predictions);
    expect(driftReferenceSchema.safeParse(reference).success).toBe(true);
    expect(Object.keys(reference.features).sort()).toEqual(["amount", "mobile", "plan", "score"]);
    for (const h of [...Object.values(reference.features), reference.prediction!]) {
      const total = h.counts.reduce((s, c) => s + c, 0);
      expect(total).toBe(200);
      if ("edges" in h) {
        expect(h.counts).toHaveLength(h.edges.length + 1);
        h.edges.forEach((e, i) => i > 0 && expect(e).toBeGreaterThan(h.edges[i - 1]!));
      }
    }
    // A constant feature and a low-cardinality one get one bin per value, so a shift between values shows.
    const constant = referenceHistograms(spec, rows.map((r, i) => ({ ...r, amount: 5, score: i < 190 ? 1 : 2 })));
    expect(driftReferenceSchema.safeParse(constant).success).toBe(true);
    expect(constant.features.amount).toEqual({ edges: [5], counts: [0, 200] });
    expect(constant.features.score).toEqual({ edges: [1, 2], counts: [0, 190, 10] });
  });

  it("bins every value exactly as the rollups do (binOf): edges are lower-inclusive, booleans as strings, unknown categories in other", () => {
    const rows: RawRow[] = [
      { amount: 1, plan: "free", mobile: true },
      { amount: 2, plan: "pro", mobile: false },
      { amount: 3, plan: "enterprise", mobile: true },
      { amount: 4, plan: null, mobile: null },
      { amount: null, plan: "free", mobile: true },
    ];
    const reference = referenceHistograms(spec, rows, undefined, 4);
    const amount = reference.features.amount!;
    expect(amount).toEqual({ edges: [2, 3, 4], counts: [1, 1, 1, 1] });
    // A value equal to an edge lands in the bin that starts there, as binIndex puts it.
    expect(binOf(amount, 2)).toBe(1);
    expect(reference.features.plan).toEqual({ categories: ["free", "pro"], counts: [2, 1, 1] });
    expect(reference.features.mobile).toEqual({ categories: ["false", "true"], counts: [1, 3, 0] });
    expect(reference.features.score).toBeUndefined(); // no values at all: no baseline rather than an empty one
    // The same counts as feeding each present value through the rollups' binOf.
    for (const [name, h] of Object.entries(reference.features)) {
      const counts = new Array<number>(h.counts.length).fill(0);
      for (const r of rows) {
        const bin = binOf(h, r[name]);
        if (bin !== undefined) counts[bin]! += 1;
      }
      expect(h.counts, name).toEqual(counts);
    }
  });

  it("takes one score per row from a vector output, the last class's value, as the rollups do", () => {
    expect(scores(Float32Array.from([0.9, 0.1, 0.3, 0.7]), 2)).toEqual([Float32Array.from([0.1])[0], Float32Array.from([0.7])[0]]);
    expect(scores([0.2, 0.4], 2)).toEqual([0.2, 0.4]);
    const reference = referenceHistograms(spec, healthy(4).rows, [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4], 2);
    expect(reference.prediction).toEqual({ edges: [0.3], counts: [2, 2] });
  });

  it("quantile edges refuse a bin count the schema cannot hold", () => {
    expect(() => quantileEdges([1, 2, 3], 1)).toThrow(/bins must be/);
    expect(quantileEdges([1, 2, 3, 4], 4)).toEqual([2, 3, 4]);
    expect(quantileEdges([0, 1, 1, 0, 1], 10)).toEqual([0, 1]); // a 0/1 flag: one bin per value
  });
});
