// GET /v1/models/{model}/metrics: windowed counts, errors and latency per version and variant.
import { inputIssueOf, metricsQuerySchema, quantileMs, STEPS, windowQuerySchema, type WindowRollup } from "@verge/shared";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { db, findModel } from "../db/client.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { modelParam } from "../registry/models.ts";
import { readWindow } from "./reader.ts";

export { STEPS };
export const windowQuery = windowQuerySchema;

/** The window a report covers: [from, to) in epoch ms; `to` defaults to now, `from` to `to − span`. */
export function windowOf(q: { from?: number | string | undefined; to?: number | string | undefined }, spanMs = 3_600_000): { from: number; to: number } {
  const to = q.to === undefined ? Date.now() : new Date(q.to).getTime();
  return { from: q.from === undefined ? to - spanMs : new Date(q.from).getTime(), to };
}

export const metricsQuery = metricsQuerySchema;

export const metricsRoutes = newApp().get("/:model/metrics", guard(api.metrics), validate("param", modelParam), validate("query", metricsQuery), async (c) => {
  const d = db(c.env);
  const model = await findModel(d, c.req.valid("param").model);
  const q = c.req.valid("query");
  const window = windowOf(q);
  const [total, series] = await Promise.all([
    readWindow(c.env, d, model.name, window, { parts: ["counts", "latency", "bins"] }),
    q.step ? readWindow(c.env, d, model.name, window, { parts: ["counts", "latency"], step: STEPS[q.step] }) : undefined,
  ]);
  const rows = groups(total);
  return c.json({
    model: model.name,
    window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
    ...(series ? { step: q.step, timeseries: groups(series).map((g) => ({ t: new Date(g.t * 60_000).toISOString(), ...present(g) })) } : {}),
    series: rows.map(present),
    total: rows.filter((r) => !r.shadow).reduce((s, r) => s + r.count, 0),
    input_issues: inputIssues(total),
  });
});

type Group = WindowRollup["counts"][number] & { buckets: [number, number][] };

/** Input-issue counts from the window's bins, by version, reason and feature. */
function inputIssues(rollup: WindowRollup) {
  const out = new Map<string, { version: number; feature: string; reason: "unknown_feature" | "out_of_vocabulary"; count: number }>();
  for (const b of rollup.bins) {
    const issue = inputIssueOf(b.feature);
    if (!issue) continue;
    const key = `${b.version}|${issue.reason}|${issue.feature}`;
    const row = out.get(key) ?? { version: b.version, ...issue, count: 0 };
    row.count += b.count;
    out.set(key, row);
  }
  return [...out.values()].sort((a, b) => a.version - b.version || a.reason.localeCompare(b.reason) || a.feature.localeCompare(b.feature));
}

/** Counts with their latency histograms, by time step, version, variant and shadow flag. */
function groups(rollup: WindowRollup): Group[] {
  const key = (r: { t: number; version: number; variant: string; shadow: boolean }) => `${r.t}|${r.version}|${r.shadow}|${r.variant}`;
  const buckets = new Map<string, [number, number][]>();
  for (const l of rollup.latency) buckets.set(key(l), [...(buckets.get(key(l)) ?? []), [l.bucket, l.count]]);
  return rollup.counts
    .map((c) => ({ ...c, buckets: buckets.get(key(c)) ?? [] }))
    .sort((a, b) => a.t - b.t || a.version - b.version || a.variant.localeCompare(b.variant) || Number(a.shadow) - Number(b.shadow));
}

function present(g: Group) {
  return {
    version: g.version,
    variant: g.variant,
    shadow: g.shadow,
    count: g.count,
    errors: g.errors,
    error_rate: g.count ? g.errors / g.count : 0,
    latency_ms: { mean: g.count ? g.latency_sum_ms / g.count : 0, p50: quantileMs(g.buckets, 0.5, g.latency_max_ms), p95: quantileMs(g.buckets, 0.95, g.latency_max_ms), p99: quantileMs(g.buckets, 0.99, g.latency_max_ms), max: g.latency_max_ms },
  };
}
