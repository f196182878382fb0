import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { encodeRows, inputWidth, resolveRow } from "../src/features.ts";
import { featureSpecSchema, type FeatureSpec } from "../src/schemas/feature-spec.ts";

const spec: Pick<FeatureSpec, "features"> = {
  features: [
    { name: "age", type: "number", default: 30 },
    { name: "member", type: "boolean", default: false },
    { name: "plan", type: "categorical", vocabulary: ["free", "pro"], default: "free" },
  ],
};

describe("feature encoding", () => {
  it("one-hot encodes categoricals and fills defaults, reporting them", () => {
    expect(inputWidth(spec)).toBe(4);
    const { values, defaulted } = resolveRow(spec, { age: 41, plan: "pro" });
    expect(values).toEqual({ age: 41, member: false, plan: "pro" });
    expect(defaulted).toEqual([{ feature: "member", reason: "missing" }]);
    expect(Array.from(encodeRows(spec, [values]))).toEqual([41, 0, 0, 1]);
    expect(Array.from(encodeRows(spec, [{ age: 1, member: true, plan: "gold" }]))).toEqual([1, 1, 0, 0]);
  });

  it("refuses a value of the wrong type, naming the field", () => {
    expect(() => resolveRow(spec, { age: "old" })).toThrow(ApiError);
    expect(() => resolveRow(spec, { age: "old" })).toThrow(/features\.age: expected number/);
    expect(() => resolveRow(spec, { member: 1 })).toThrow(/features\.member: expected boolean/);
    expect(() => resolveRow(spec, { age: 1e39 })).toThrow(/features\.age: expected number, got a number beyond float32 range/);
  });

  it("gives every row the same width and is deterministic", () => {
    const row = fc.record({ age: fc.option(fc.double({ noNaN: true, min: -3e38, max: 3e38 })), member: fc.option(fc.boolean()), plan: fc.option(fc.string()) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 20 }), (rows) => {
        const resolved = rows.map((r) => resolveRow(spec, r).values);
        const a = encodeRows(spec, resolved);
        expect(a.length).toBe(rows.length * 4);
        expect(Array.from(encodeRows(spec, resolved))).toEqual(Array.from(a));
      }),
    );
  });
});

describe("a view's cache_s", () => {
  const withCache = (cache_s: unknown) => ({ features: [{ name: "clicks", type: "number", default: 0, view: "user" }], views: [{ name: "user", entity: "user_id", cache_s }] });

  it("takes whole seconds from 1 to 3600, and is optional", () => {
    expect(featureSpecSchema.parse(withCache(60)).views[0]!.cache_s).toBe(60);
    expect(featureSpecSchema.parse({ ...withCache(1), views: [{ name: "user", entity: "user_id" }] }).views[0]!.cache_s).toBeUndefined();
  });

  it("refuses anything else, naming views[i].cache_s", () => {
    for (const bad of [0, -5, 1.5, 3601, "60", null]) {
      const r = featureSpecSchema.safeParse(withCache(bad));
      expect(r.success).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual(["views", 0, "cache_s"]);
    }
  });
});
