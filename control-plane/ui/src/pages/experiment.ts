// The experiment: per-variant metrics with 95% intervals, the sequential (mSPRT) p-value over
// time, the sample-ratio check as a banner, and progress towards the needed sample size.
import { wilsonInterval } from "@verge/shared/experiment";
import { timeChart } from "../charts.ts";
import { fmt, h, render, table } from "../dom.ts";
import type { Session } from "../session.ts";
import { modelHeader, status } from "./common.ts";

/** Points of the p-value curve: the report over growing windows from the start. */
const POINTS = 8;
const DAY = 86_400_000;

export async function experimentPage(s: Session, [model]: string[], query: URLSearchParams): Promise<void> {
  const params = { model: model! };
  const span = Number(query.get("hours") ?? 24) * 3_600_000 || DAY;
  const to = Date.now();
  const from = to - span;
  const report = await s.cp.api.experiment({ params, query: { from, to } });
  // The always-valid p-value may be read at any time: its path over the window, from reports
  // over [from, from + k·span/POINTS).
  const times = Array.from({ length: POINTS }, (_, k) => from + ((k + 1) * span) / POINTS);
  const path = await Promise.all(times.map((t) => s.cp.api.experiment({ params, query: { from, to: Math.round(t) } })));
  const comparisons = report.sequential_test.comparisons;
  const series = comparisons.flatMap((c, i) => [
    { label: `${c.variant} vs ${c.against}: error rate`, values: path.map((r) => r.sequential_test.comparisons[i]?.error_rate.p_value ?? null) },
    { label: `${c.variant} vs ${c.against}: positive rate`, values: path.map((r) => r.sequential_test.comparisons[i]?.positive_rate?.p_value ?? null) },
  ]);
  series.push({ label: `α = ${report.sequential_test.alpha}`, values: times.map(() => report.sequential_test.alpha) });

  const interval = (k: number, n: number) => {
    const w = wilsonInterval(k, n);
    return w ? `${fmt.pct(k / n)} [${fmt.pct(w.low)}, ${fmt.pct(w.high)}]` : "–";
  };
  const srm = report.sample_ratio_mismatch;
  const needed = report.sample_size.per_arm;
  const smallest = Math.min(...report.variants.map((v) => v.samples));
  render(
    ...modelHeader(model!, "/experiment"),
    h("p", { id: "srm", class: `banner ${srm.mismatch ? "bad" : "good"}` }, srm.mismatch ? `Sample ratio mismatch (χ² p = ${srm.p_value?.toExponential(2)}): traffic does not follow the allocation — do not trust these results until the split is fixed.` : `Sample ratio ok (p = ${fmt.num(srm.p_value)}).`),
    h("section", { class: "card", id: "sample-size" }, h("h2", {}, "Sample size"), needed ? h("p", {}, h("span", { class: "progress" }, h("span", { style: `width:${Math.min(100, (smallest / needed) * 100)}%` })), ` ${smallest} of ${needed} per arm (${fmt.pct(Math.min(1, smallest / needed))}) to detect ${report.sample_size.mde} at α ${report.sample_size.alpha}, power ${report.sample_size.power}`) : h("p", { class: "muted" }, "no baseline rate yet")),
    table(
      ["variant", "weight", "samples", "error rate [95%]", "p50", "p99", "labels", "positive rate [95%]", "accuracy", "AUC", "log loss", "guardrails"],
      report.variants.map((v) => [v.name, fmt.bp(v.weight_bp), String(v.samples), interval(v.errors, v.samples), fmt.ms(v.latency_ms.p50), fmt.ms(v.latency_ms.p99), String(v.labels.n), v.labels.positive_rate === null ? "–" : interval(Math.round(v.labels.positive_rate * v.labels.n), v.labels.n), fmt.num(v.labels.accuracy), fmt.num(v.labels.auc), fmt.num(v.labels.log_loss), h("span", {}, status(v.guardrails.error_rate), " / ", status(v.guardrails.p99))]),
      { id: "variants" },
    ),
    table(["variant", "against", "error-rate effect", "p", "positive-rate effect", "p", "significant"], comparisons.map((c) => [c.variant, c.against, fmt.num(c.error_rate.effect, 4), fmt.num(c.error_rate.p_value, 4), fmt.num(c.positive_rate?.effect, 4), fmt.num(c.positive_rate?.p_value, 4), c.significant ? "yes" : "no"]), { id: "comparisons" }),
    comparisons.length ? timeChart("pvalue", "Sequential p-value (mSPRT) over the window", times.map((t) => t / 1000), series, { yLabel: "p", yRange: [0, 1] }) : h("p", { class: "muted" }, "one variant: nothing to compare"),
  );
}
