// Traffic, error rate and p50/p99 latency over time per variant (and shadows), at minute, hour
// or day resolution, from the metrics time series.
import type { MetricsPoint } from "@verge/shared/schemas/admin/monitoring";
import { timeChart, type Series } from "../charts.ts";
import { fmt, h, render, table } from "../dom.ts";
import type { Session } from "../session.ts";
import { modelHeader } from "./common.ts";

const WINDOWS: Record<string, number> = { "1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };
const STEPS = ["minute", "hour", "day"] as const;

/** The series a point belongs to: variant and version, shadows apart. */
export const seriesKey = (p: { variant: string; version: number; shadow: boolean }) => `${p.variant} v${p.version}${p.shadow ? " (shadow)" : ""}`;

export async function trafficPage(s: Session, [model]: string[], query: URLSearchParams): Promise<void> {
  const step = STEPS.find((x) => x === query.get("step")) ?? "minute";
  const windowName = query.get("window") && WINDOWS[query.get("window")!] ? query.get("window")! : step === "minute" ? "1h" : step === "hour" ? "24h" : "7d";
  const to = Date.now();
  const from = to - WINDOWS[windowName]!;
  const m = await s.cp.api.metrics({ params: { model: model! }, query: { from, to, step } });
  const points = m.timeseries ?? [];
  const x = [...new Set(points.map((p) => Date.parse(p.t) / 1000))].sort((a, b) => a - b);
  const keys = [...new Set(points.map(seriesKey))].sort();
  const at = new Map(points.map((p) => [`${seriesKey(p)}|${Date.parse(p.t) / 1000}`, p]));
  const column = (key: string, value: (p: MetricsPoint) => number | null, missing: number | null): (number | null)[] => x.map((t) => {
    const p = at.get(`${key}|${t}`);
    return p ? value(p) : missing;
  });
  const traffic: Series[] = keys.map((k) => ({ label: k, values: column(k, (p) => p.count, 0) }));
  const errors: Series[] = keys.map((k) => ({ label: k, values: column(k, (p) => p.error_rate, null) }));
  const latency: Series[] = keys.flatMap((k) => [
    { label: `${k} p50`, values: column(k, (p) => p.latency_ms.p50, null) },
    { label: `${k} p99`, values: column(k, (p) => p.latency_ms.p99, null), dash: true },
  ]);
  const link = (params: Record<string, string>, text: string, active: boolean) => h("a", { href: `#/models/${encodeURIComponent(model!)}/traffic?${new URLSearchParams({ step, window: windowName, ...params })}`, class: active ? "active" : "" }, text);
  render(
    ...modelHeader(model!, "/traffic"),
    h("div", { class: "controls", id: "resolution" }, "resolution", ...STEPS.map((st) => link({ step: st, window: st === "minute" ? "1h" : st === "hour" ? "24h" : "7d" }, st, st === step)), "window", ...Object.keys(WINDOWS).map((w) => link({ window: w }, w, w === windowName))),
    h("p", { class: "muted" }, `${m.total} predictions from ${fmt.time(m.window.from)} to ${fmt.time(m.window.to)}, per ${step}`),
    x.length
      ? h("div", { class: "grid" }, timeChart("traffic", `Predictions per ${step}`, x, traffic, { yLabel: "requests" }), timeChart("errors", "Error rate", x, errors, { yLabel: "errors / requests" }), timeChart("latency", "Latency p50 and p99 (dashed)", x, latency, { yLabel: "ms" }))
      : h("p", { class: "muted", id: "no-traffic" }, "no traffic in this window"),
    table(["variant", "version", "shadow", "predictions", "errors", "error rate", "p50", "p99"], m.series.map((r) => [r.variant, String(r.version), r.shadow ? "shadow" : "", String(r.count), String(r.errors), fmt.pct(r.error_rate), fmt.ms(r.latency_ms.p50), fmt.ms(r.latency_ms.p99)]), { id: "totals" }),
  );
}
