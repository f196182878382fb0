// Drift per feature and for the prediction: the reference histogram (from the version's
// metadata) and the current window's counts overlaid, with PSI, JS and KS/χ² against their
// thresholds, and which features are alerting.
import type { ReferenceHistogram } from "@verge/shared/schemas/registry";
import type { FeatureDrift } from "@verge/shared/schemas/admin/monitoring";
import { histogramChart } from "../charts.ts";
import { fmt, h, render, table } from "../dom.ts";
import type { Session } from "../session.ts";
import { modelHeader, status } from "./common.ts";

/** The prediction's drift is reported under this name. */
const PREDICTION = "__prediction__";

/** Bin labels of a reference histogram: numeric edges give k + 1 ranges, categories an "other" bin. */
export function binLabels(h: ReferenceHistogram): string[] {
  if ("categories" in h) return [...h.categories, "other"];
  const e = h.edges.map((x) => fmt.num(x, 2));
  return [`< ${e[0]}`, ...e.slice(1).map((x, i) => `${e[i]}–${x}`), `≥ ${e.at(-1)}`];
}

export async function driftPage(s: Session, [model]: string[]): Promise<void> {
  const params = { model: model! };
  const report = await s.cp.api.drift({ params });
  const versions = await Promise.all(report.versions.map((v) => s.cp.api.getVersion({ params: { ...params, version: v.version } })));
  const t = report.thresholds;
  const judged = (value: number | null, warn: number, alert?: number) => {
    const level = value === null ? "ok" : alert !== undefined && value >= alert ? "alert" : value >= warn ? "warn" : "ok";
    return h("span", { class: `status-${level}` }, fmt.num(value));
  };
  const row = (f: FeatureDrift) => [
    f.feature === PREDICTION ? "prediction" : f.feature,
    f.kind,
    String(f.samples),
    String(f.defaulted),
    judged(f.psi, t.psi_warn, t.psi_alert),
    judged(f.js, t.js_warn),
    f.test.name === "ks" ? "KS" : "χ²",
    h("span", { class: f.test.p_value !== null && f.test.p_value < t.p_value ? "status-warn" : "" }, f.test.p_value === null ? "–" : f.test.p_value.toExponential(2)),
    status(f.status),
    f.reasons.join("; "),
  ];
  render(
    ...modelHeader(model!, "/drift"),
    h("p", { class: "muted", id: "thresholds" }, `window ${fmt.time(report.window.from)} – ${fmt.time(report.window.to)} · PSI warn ≥ ${t.psi_warn}, alert ≥ ${t.psi_alert} · JS warn ≥ ${t.js_warn} · test p < ${t.p_value} · judged from ${t.min_samples} samples`),
    report.versions.length ? null : h("p", { class: "muted" }, "no traffic with a drift reference in this window"),
    ...report.versions.map((v, i) => {
      const ref = versions[i]!.reference;
      const all = [...v.features, ...(v.prediction ? [v.prediction] : [])];
      const charts = all.flatMap((f) => {
        const histogram = f.feature === PREDICTION ? ref?.prediction : ref?.features[f.feature];
        return histogram ? [histogramChart(`drift-v${v.version}-${f.feature}`, `${f.feature === PREDICTION ? "prediction" : f.feature} · PSI ${fmt.num(f.psi)}`, binLabels(histogram), histogram.counts, f.current)] : [];
      });
      return h(
        "section",
        { class: "card", "data-version": String(v.version) },
        h("h2", {}, `Version ${v.version} · `, status(v.status)),
        v.alerts.length ? h("p", { class: "banner bad", id: `alerting-v${v.version}` }, `alerting: ${v.alerts.map((a) => (a === PREDICTION ? "prediction" : a)).join(", ")}`) : null,
        v.has_reference ? null : h("p", { class: "muted" }, "this version has no reference histograms"),
        table(["feature", "kind", "samples", "defaulted", "PSI", "JS", "test", "p", "status", "why"], all.map(row)),
        h("div", { class: "grid" }, ...charts),
      );
    }),
  );
}
