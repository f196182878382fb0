// GET /v1/models/{model}/experiment: per variant of the deployment — traffic, errors, latency,
// labelled quality (feedback joined to its prediction in the rollup shards) — plus sample-ratio
// mismatch, mSPRT tests against the first variant, guardrails, and the sample size the test needs.
import { eq } from "drizzle-orm";
import { ApiError, DEFAULT_PROMOTION_RULE, experimentQuerySchema, guardrailBreaches, msprt, sampleRatioMismatch, sampleSizePerArm, sharesOf, windowMetrics, type Allocation, type PromotionRule } from "@verge/shared";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { db, findModel } from "../db/client.ts";
import { promotionRules } from "../db/schema.ts";
import { currentDeployment } from "../deployments/service.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { modelParam } from "../registry/models.ts";
import { readWindow } from "./reader.ts";
import { windowOf } from "./routes.ts";

export const experimentQuery = experimentQuerySchema;

export const experimentRoutes = newApp().get("/:model/experiment", guard(api.experiment), validate("param", modelParam), validate("query", experimentQuery), async (c) => {
  const d = db(c.env);
  const model = await findModel(d, c.req.valid("param").model);
  const q = c.req.valid("query");
  const dep = await currentDeployment(d, model.id);
  if (!dep) throw new ApiError("not_found", `model "${model.name}" has no deployment`);
  const { from, to } = windowOf(q, 24 * 3_600_000);
  const shares = sharesOf(dep.allocation as Allocation);
  const ruleRow = await d.select().from(promotionRules).where(eq(promotionRules.modelId, model.id)).get();
  const limits = ((ruleRow?.rule as PromotionRule | undefined) ?? DEFAULT_PROMOTION_RULE).guardrails;
  const rollup = await readWindow(c.env, d, model.name, { from, to }, { parts: ["counts", "latency", "quality"] });

  const variants = [...shares.keys()].map((name) => {
    const m = windowMetrics(rollup, { variant: name });
    const { conflicts, ...labels } = m.quality;
    const breached = new Set(guardrailBreaches(limits, m).map((b) => b.guardrail));
    return {
      name,
      weight_bp: shares.get(name)!,
      samples: m.samples,
      errors: m.errors,
      error_rate: m.error_rate,
      latency_ms: { p50: m.p50_ms, p95: m.p95_ms, p99: m.p99_ms },
      labels: { ...labels, conflicts },
      guardrails: { error_rate: breached.has("error_rate") ? "breached" : "ok", p99: breached.has("p99") ? "breached" : "ok" },
    };
  });

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
