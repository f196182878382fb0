// GET /v1/models/{model}/metrics: windowed counts, errors and latency per version and variant.
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { quantileMs } from "@verge/shared";
import { db, findModel } from "../db/client.ts";
import { rollupLatency, rollups } from "../db/schema.ts";
import { newApp, validate } from "../http/app.ts";
import { requireRole } from "../http/auth.ts";
import { modelParam } from "../registry/models.ts";

export const windowQuery = z.object({
  /** Window start and end as epoch milliseconds or ISO dates; defaults to the last hour. */
  from: z.union([z.coerce.number().int(), z.iso.datetime()]).optional(),
  to: z.union([z.coerce.number().int(), z.iso.datetime()]).optional(),
});

/** The window a report covers: [from, to) in epoch ms; `to` defaults to now, `from` to `to − span`. */
export function windowOf(q: { from?: number | string | undefined; to?: number | string | undefined }, spanMs = 3_600_000): { from: number; to: number } {
  const to = q.to === undefined ? Date.now() : new Date(q.to).getTime();
  return { from: q.from === undefined ? to - spanMs : new Date(q.from).getTime(), to };
}

export const metricsRoutes = newApp().get("/:model/metrics", requireRole("viewer"), validate("param", modelParam), validate("query", windowQuery), async (c) => {
  const d = db(c.env);
  const model = await findModel(d, c.req.valid("param").model);
  const q = c.req.valid("query");
  const { from, to } = windowOf(q);
  const range = and(eq(rollups.model, model.name), gte(rollups.minute, Math.floor(from / 60_000)), lt(rollups.minute, Math.ceil(to / 60_000)));
  const latencyRange = and(eq(rollupLatency.model, model.name), gte(rollupLatency.minute, Math.floor(from / 60_000)), lt(rollupLatency.minute, Math.ceil(to / 60_000)));
  const [rows, hist] = await d.batch([
    d
      .select({
        version: rollups.version,
        variant: rollups.variant,
        shadow: rollups.shadow,
        count: sql<number>`sum(${rollups.count})`,
        errors: sql<number>`sum(${rollups.errors})`,
        latencySum: sql<number>`sum(${rollups.latencySumMs})`,
        latencyMax: sql<number>`max(${rollups.latencyMaxMs})`,
      })
      .from(rollups)
      .where(range)
      .groupBy(rollups.version, rollups.variant, rollups.shadow),
    d
      .select({ version: rollupLatency.version, variant: rollupLatency.variant, shadow: rollupLatency.shadow, bucket: rollupLatency.bucket, count: sql<number>`sum(${rollupLatency.count})` })
      .from(rollupLatency)
      .where(latencyRange)
      .groupBy(rollupLatency.version, rollupLatency.variant, rollupLatency.shadow, rollupLatency.bucket),
  ]);
  const key = (r: { version: number; variant: string; shadow: number }) => `${r.version}|${r.variant}|${r.shadow}`;
  const buckets = new Map<string, [number, number][]>();
  for (const h of hist) buckets.set(key(h), [...(buckets.get(key(h)) ?? []), [h.bucket, h.count]]);
  return c.json({
    model: model.name,
    window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    series: rows.map((r) => {
      const b = buckets.get(key(r)) ?? [];
      return {
        version: r.version,
        variant: r.variant,
        shadow: r.shadow === 1,
        count: r.count,
        errors: r.errors,
        error_rate: r.count ? r.errors / r.count : 0,
        latency_ms: { mean: r.count ? r.latencySum / r.count : 0, p50: quantileMs(b, 0.5), p95: quantileMs(b, 0.95), p99: quantileMs(b, 0.99), max: r.latencyMax },
      };
    }),
    total: rows.filter((r) => r.shadow === 0).reduce((s, r) => s + r.count, 0),
  });
});
