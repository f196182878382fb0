// GET /v1/models/{model}/metrics: windowed counts, errors and latency per version and variant.
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { metricsQuerySchema, quantileMs, STEPS, windowQuerySchema } from "@verge/shared";
import { db, findModel, type Db } from "../db/client.ts";
import { rollupLatency, rollups } from "../db/schema.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "../registry/models.ts";

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
  const { from, to } = windowOf(q);
  const rows = await aggregate(d, model.name, from, to);
  const timeseries = q.step ? await aggregate(d, model.name, from, to, STEPS[q.step]) : undefined;
  const present = ({ t, shadow, count, errors, latencySum, latencyMax, buckets, ...dims }: Aggregate) => ({
    ...(q.step && t !== undefined ? { t: new Date(t * 60_000).toISOString() } : {}),
    ...dims,
    shadow: shadow === 1,
    count,
    errors,
    error_rate: count ? errors / count : 0,
    latency_ms: { mean: count ? latencySum / count : 0, p50: quantileMs(buckets, 0.5), p95: quantileMs(buckets, 0.95), p99: quantileMs(buckets, 0.99), max: latencyMax },
  });
  return c.json({
    model: model.name,
    window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    ...(timeseries ? { step: q.step, timeseries: timeseries.map(present) } : {}),
    series: rows.map((r) => present({ ...r, t: undefined })),
    total: rows.filter((r) => r.shadow === 0).reduce((s, r) => s + r.count, 0),
  });
});

type Aggregate = Awaited<ReturnType<typeof aggregate>>[number];

/**
 * Sums per (version, variant, shadow) over the window — and per time step when one is given —
 * with each group's latency histogram.
 */
async function aggregate(d: Db, model: string, from: number, to: number, stepMinutes?: number) {
  // Inlined, not bound: D1 binds numbers as REAL, and the step needs integer division.
  const time = (minute: typeof rollups.minute | typeof rollupLatency.minute) => (stepMinutes ? sql<number>`(${minute} / ${sql.raw(String(stepMinutes))}) * ${sql.raw(String(stepMinutes))}` : sql<number>`0`);
  const range = (t: typeof rollups | typeof rollupLatency) => and(eq(t.model, model), gte(t.minute, Math.floor(from / 60_000)), lt(t.minute, Math.ceil(to / 60_000)));
  const [rows, hist] = await d.batch([
    d
      .select({
        t: time(rollups.minute),
        version: rollups.version,
        variant: rollups.variant,
        shadow: rollups.shadow,
        count: sql<number>`sum(${rollups.count})`,
        errors: sql<number>`sum(${rollups.errors})`,
        latencySum: sql<number>`sum(${rollups.latencySumMs})`,
        latencyMax: sql<number>`max(${rollups.latencyMaxMs})`,
      })
      .from(rollups)
      .where(range(rollups))
      .groupBy(sql`1`, rollups.version, rollups.variant, rollups.shadow)
      .orderBy(sql`1`),
    d
      .select({ t: time(rollupLatency.minute), version: rollupLatency.version, variant: rollupLatency.variant, shadow: rollupLatency.shadow, bucket: rollupLatency.bucket, count: sql<number>`sum(${rollupLatency.count})` })
      .from(rollupLatency)
      .where(range(rollupLatency))
      .groupBy(sql`1`, rollupLatency.version, rollupLatency.variant, rollupLatency.shadow, rollupLatency.bucket),
  ]);
  const key = (r: { t: number; version: number; variant: string; shadow: number }) => `${r.t}|${r.version}|${r.variant}|${r.shadow}`;
  const buckets = new Map<string, [number, number][]>();
  for (const h of hist) buckets.set(key(h), [...(buckets.get(key(h)) ?? []), [h.bucket, h.count]]);
  return rows.map((r) => ({ ...r, t: stepMinutes ? r.t : undefined, buckets: buckets.get(key(r)) ?? [] }));
}
