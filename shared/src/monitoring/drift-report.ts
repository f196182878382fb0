// One version's drift: each reference feature, and the prediction, against the window's bins.
import { assessDrift, type DriftThresholds } from "../drift.ts";
import type { DriftReference, ReferenceHistogram } from "../schemas/registry.ts";
import type { BinRow } from "./rollup.ts";

/** The feature name rollups use for the prediction's histogram. */
export const PREDICTION_FEATURE = "__prediction__";

/**
 * Input issues are counted in the bins table under reserved names (`__unknown_feature__:plan`,
 * bin 0), per minute and version like drift bins, but for every version, reference or not.
 */
export const INPUT_ISSUE_PREFIX = { unknown_feature: "__unknown_feature__:", out_of_vocabulary: "__out_of_vocabulary__:" } as const;
export type InputIssueReason = keyof typeof INPUT_ISSUE_PREFIX;

/** The issue a bins row counts, or undefined for a drift bin. */
export function inputIssueOf(feature: string): { reason: InputIssueReason; feature: string } | undefined {
  for (const [reason, prefix] of Object.entries(INPUT_ISSUE_PREFIX) as [InputIssueReason, string][]) {
    if (feature.startsWith(prefix)) return { reason, feature: feature.slice(prefix.length) };
  }
  return undefined;
}
/** The bin that counts values a record defaulted (missing, stale…). */
export const DEFAULTED_BIN = -1;

export function versionDrift(version: number, reference: DriftReference | undefined, rows: readonly BinRow[], thresholds: DriftThresholds) {
  const mine = rows.filter((r) => r.version === version);
  const assess = (name: string, h: ReferenceHistogram) => {
    const current: number[] = h.counts.map(() => 0);
    let defaulted = 0;
    for (const r of mine) {
      if (r.feature !== name) continue;
      if (r.bin === DEFAULTED_BIN) defaulted += r.count;
      else if (r.bin >= 0 && r.bin < current.length) current[r.bin]! += r.count;
    }
    return { feature: name, kind: "edges" in h ? "numeric" : "categorical", defaulted, current, ...assessDrift(h, current, thresholds) };
  };
  const features = Object.entries(reference?.features ?? {}).map(([name, h]) => assess(name, h));
  const prediction = reference?.prediction ? assess(PREDICTION_FEATURE, reference.prediction) : null;
  const all = [...features, ...(prediction ? [prediction] : [])];
  return {
    version,
    has_reference: reference !== undefined,
    status: all.some((f) => f.status === "alert") ? "alert" : all.some((f) => f.status === "warn") ? "warn" : "ok",
    alerts: all.filter((f) => f.status === "alert").map((f) => f.feature),
    features,
    prediction,
  };
}
export type VersionDrift = ReturnType<typeof versionDrift>;
