// GET /v1/models/{model}/experiment: per variant of the deployment — traffic, errors, latency,
// labelled quality (feedback joined by request id) — plus sample-ratio mismatch, mSPRT tests
// against the first variant, guardrails, and the sample size the test needs.
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { aucFromBins, ApiError, DEFAULT_PROMOTION_RULE, experimentQuerySchema, msprt, sampleRatioMismatch, sampleSizePerArm, sharesOf, type Allocation, type PromotionRule } from "@verge/shared";
import { db, findModel } from "../db/client.ts";
import { feedback, ingested, promotionRules } from "../db/schema.ts";
import { currentDeployment } from "../deployments/service.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "../registry/models.ts";
import { windowMetrics } from "./read.ts";
import { windowOf } from "./routes.ts";

export const experimentQuery = experimentQuerySchema;

/** Score histogram resolution for AUC, calibration and log loss: 100 bins on [0, 1]. */
const SCORE_BINS = 100;

export const experimentRoutes = newApp().get("/:model/experiment", guard(api.experiment), validate("param", modelParam), validate("query", experimentQuery), async (c) => {
  const d = db(c.env);
  const model = await findModel(d, c.req.valid("param").model);
  const q = c.req.valid("query");
  const dep = await currentDeployment(d, model.id);
  if (!dep) throw new ApiError("not_found", `model "${model.name}" has no deployment`);
  const { from, to } = windowOf(q, 24 * 3_600_000);
  const shares = sharesOf(dep.allocation as Allocation);
  const names = [...shares.keys()];
  const ruleRow = await d.select().from(promotionRules).where(eq(promotionRules.modelId, model.id)).get();
  const guard = ((ruleRow?.rule as PromotionRule | undefined) ?? DEFAULT_PROMOTION_RULE).guardrails;

  // Labelled predictions per variant, binned by score: enough for accuracy, AUC, log loss, calibration.
  const labelled = await d
    .select({
      variant: ingested.variant,
      bin: sql<number>`min(${SCORE_BINS - 1}, max(0, cast(${ingested.score} * ${SCORE_BINS} as integer)))`,
      positives: sql<number>`sum(case when ${feedback.label} >= 0.5 then 1 else 0 end)`,
      n: sql<number>`count(*)`,
    })
    .from(feedback)
    .innerJoin(ingested, eq(ingested.requestId, feedback.target))
    .where(and(eq(ingested.model, model.name), eq(ingested.shadow, 0), gte(ingested.minute, Math.floor(from / 60_000)), lt(ingested.minute, Math.ceil(to / 60_000))))
    .groupBy(ingested.variant, sql`2`)
    .all();

  const variants = await Promise.all(
    names.map(async (name) => {
      const m = await windowMetrics(d, { model: model.name, variant: name, fromMs: from, toMs: to });
      const rows = labelled.filter((r) => r.variant === name);
      const pos = Array(SCORE_BINS).fill(0);
      const neg = Array(SCORE_BINS).fill(0);
      for (const r of rows) {
        pos[r.bin] += r.positives;
        neg[r.bin] += r.n - r.positives;
      }
      const labels = rows.reduce((s, r) => s + r.n, 0);
      const positives = rows.reduce((s, r) => s + r.positives, 0);
      const center = (b: number) => Math.min(1 - 1e-6, Math.max(1e-6, (b + 0.5) / SCORE_BINS));
      const correct = pos.reduce((s, p, b) => s + (center(b) >= 0.5 ? p : neg[b]), 0);
      const logLoss = labels ? -pos.reduce((s, p, b) => s + p * Math.log(center(b)) + neg[b] * Math.log(1 - center(b)), 0) / labels : null;
      const calibration = Array.from({ length: 10 }, (_, k) => {
        let n = 0;
        let p = 0;
        for (let b = k * 10; b < (k + 1) * 10; b++) {
          n += pos[b] + neg[b];
          p += pos[b];
        }
        return { score: [(k / 10).toFixed(1), ((k + 1) / 10).toFixed(1)], n, observed_rate: n ? p / n : null };
      });
      return {
        name,
        weight_bp: shares.get(name)!,
        samples: m.samples,
        errors: m.errors,
        error_rate: m.error_rate,
        latency_ms: { p50: m.p50_ms, p95: m.p95_ms, p99: m.p99_ms },
        labels: { n: labels, positive_rate: labels ? positives / labels : null, accuracy: labels ? correct / labels : null, log_loss: logLoss, auc: aucFromBins(pos, neg), calibration },
        guardrails: {
          error_rate: m.samples >= guard.min_samples && m.error_rate > guard.max_error_rate ? "breached" : "ok",
          p99: m.samples >= guard.min_samples && m.p99_ms !== null && m.p99_ms > guard.max_p99_ms ? "breached" : "ok",
        },
      };
    }),
  );

  const control = variants[0]!;
  const tau2 = q.mde ** 2;
  const comparisons = variants.slice(1).map((v) => ({
    variant: v.name,
    against: control.name,
    error_rate: msprt({ successes: control.errors, n: control.samples }, { successes: v.errors, n: v.samples }, tau2),
    positive_rate:
      control.labels.n && v.labels.n
        ? msprt(
            { successes: Math.round(control.labels.positive_rate! * control.labels.n), n: control.labels.n },
            { successes: Math.round(v.labels.positive_rate! * v.labels.n), n: v.labels.n },
            tau2,
          )
        : null,
  }));
  const baseline = control.labels.positive_rate ?? (control.samples ? control.error_rate : null);
  let needed: number | null = null;
  if (baseline !== null && baseline > 0 && baseline + q.mde < 1) needed = sampleSizePerArm({ baseline, mde: q.mde, alpha: q.alpha, power: q.power });
  return c.json({
    model: model.name,
    window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    variants,
    sample_ratio_mismatch: sampleRatioMismatch(variants.map((v) => v.samples), variants.map((v) => v.weight_bp)),
    sequential_test: { method: "mSPRT", tau2, alpha: q.alpha, comparisons: comparisons.map((x) => ({ ...x, significant: x.error_rate.p_value <= q.alpha || (x.positive_rate?.p_value ?? 1) <= q.alpha })) },
    sample_size: { per_arm: needed, baseline, mde: q.mde, alpha: q.alpha, power: q.power },
  });
});
