// Staged rollouts: the candidate takes the plan's traffic steps; each evaluation asks the
// promotion rule whether to advance, hold, or roll back. Every change is one atomic batch.
import { and, eq, inArray, sql } from "drizzle-orm";
import { ApiError, DEFAULT_PROMOTION_RULE, decidePromotion, rolloutPlanSchema, type RolloutPlan, type PromotionDecision, type PromotionRule, type PutDeployment } from "@verge/shared";
import { auditEntry, precondition, type Db } from "../db/client.ts";
import { alerts, models, promotionRules, rollouts } from "../db/schema.ts";
import { currentDeployment, deploymentStatements } from "../deployments/service.ts";
import { aliasMoveStatements, currentAlias } from "../registry/aliases.ts";
import { readMetrics } from "../rollups/reader.ts";

export { rolloutPlanSchema, type RolloutPlan };

type Model = { id: number; name: string };
export type Rollout = typeof rollouts.$inferSelect;

const CANDIDATE = "candidate";
const BASELINE = "baseline";

function stepSpec(alias: string, candidate: number, weight: number, previous: PutDeployment | undefined): PutDeployment {
  return {
    variants: [
      ...(weight < 10_000 ? [{ name: BASELINE, alias, weight: 10_000 - weight }] : []),
      { name: CANDIDATE, version: candidate, weight },
    ],
    shadows: previous?.shadows ?? [],
    mode: "preserve",
    ...(weight < 10_000 ? { fallback: BASELINE } : {}),
  };
}

export async function startRollout(d: Db, r: { model: Model; candidate: number; alias: string; plan: RolloutPlan; actor: string; reason?: string | undefined }) {
  const baseline = await currentAlias(d, r.model.id, r.alias);
  if (baseline === undefined) throw new ApiError("bad_request", `alias: "${r.alias}" is not set, so there is nothing to roll out against; promote without a plan`);
  if (baseline === r.candidate) throw new ApiError("conflict", `${r.alias} already points to version ${r.candidate}`);
  const current = await currentDeployment(d, r.model.id);
  const spec = stepSpec(r.alias, r.candidate, r.plan.steps[0]!, current?.spec as PutDeployment | undefined);
  const { statements } = deploymentStatements(d, r.model, spec, current, r.actor, "rollout.step");
  const noneRunning = sql`NOT EXISTS (SELECT 1 FROM ${rollouts} WHERE ${rollouts.modelId} = ${r.model.id} AND ${rollouts.status} = 'running')`;
  const [, [created]] = await d.batch([
    precondition(d, noneRunning),
    d
      .insert(rollouts)
      .values({
        modelId: r.model.id,
        alias: r.alias,
        candidate: r.candidate,
        baseline,
        steps: r.plan.steps,
        intervalS: r.plan.interval_s,
        status: "running",
        previousDeployment: current ? current.spec : null,
        stepStartedAt: Date.now(),
        actor: r.actor,
        reason: r.reason ?? null,
      })
      .returning(),
    ...statements,
    auditEntry(d, { actor: r.actor, action: "rollout.start", target: `models/${r.model.name}/rollouts`, after: { candidate: r.candidate, alias: r.alias, plan: r.plan } }),
  ]);
  return present(created!);
}

/** Evaluates one running rollout now and applies the decision. */
export async function evaluateRollout(env: Env, d: Db, rollout: Rollout, now = Date.now(), actor = "promotion-rules"): Promise<PromotionDecision & { applied: string }> {
  const model = (await d.select().from(models).where(eq(models.id, rollout.modelId)).get())!;
  const ruleRow = await d.select().from(promotionRules).where(eq(promotionRules.modelId, model.id)).get();
  const stored = (ruleRow?.rule as PromotionRule | undefined) ?? DEFAULT_PROMOTION_RULE;
  // A step lasts at least the plan's interval, whatever the rule's own minimum.
  const rule = { ...stored, min_duration_s: Math.max(stored.min_duration_s, rollout.intervalS) };
  // The current step's traffic, and its labelled quality for the rule's thresholds.
  const [candidate, baselineMetrics] = await readMetrics(env, d, model.name, { from: rollout.stepStartedAt, to: now + 60_000 }, [
    { variant: CANDIDATE, version: rollout.candidate },
    { variant: BASELINE, version: rollout.baseline ?? undefined },
  ]);
  const baseline = rollout.baseline === null ? null : baselineMetrics!;
  const openDrift = await d
    .select({ id: alerts.id })
    .from(alerts)
    .where(and(eq(alerts.model, model.name), eq(alerts.version, rollout.candidate), inArray(alerts.kind, ["drift", "concept_drift"]), eq(alerts.status, "open")))
    .get();
  const decision = decidePromotion(rule, { candidate: candidate!, baseline, elapsed_s: (now - rollout.stepStartedAt) / 1000, drift_alert: openDrift !== undefined });

  const steps = rollout.steps as number[];
  const unchanged = precondition(d, sql`(SELECT ${rollouts.step} FROM ${rollouts} WHERE ${rollouts.id} = ${rollout.id} AND ${rollouts.status} = 'running') = ${rollout.step}`);
  const setRollout = (fields: Partial<Rollout>) =>
    d.update(rollouts).set({ ...fields, lastDecision: decision, updatedAt: new Date(now).toISOString() }).where(eq(rollouts.id, rollout.id));
  const previous = rollout.previousDeployment as PutDeployment | null;
  const current = await currentDeployment(d, model.id);
  const restore = previous ?? { variants: [{ name: "primary", alias: rollout.alias, weight: 10_000 }], shadows: [], mode: "preserve" as const };
  const log = auditEntry(d, { actor, action: `rollout.${decision.action}`, target: `models/${model.name}/rollouts/${rollout.id}`, after: decision });

  if (decision.action === "hold") {
    await d.batch([unchanged, setRollout({}), log]);
    return { ...decision, applied: "held" };
  }
  if (decision.action === "rollback") {
    const { statements } = deploymentStatements(d, model, restore, current, actor, "rollout.rollback");
    await d.batch([unchanged, setRollout({ status: "rolled_back", reason: decision.reasons.join("; ") }), ...statements, log]);
    return { ...decision, applied: "rolled back: previous deployment restored" };
  }
  if (rollout.step + 1 < steps.length) {
    const next = steps[rollout.step + 1]!;
    const { statements } = deploymentStatements(d, model, stepSpec(rollout.alias, rollout.candidate, next, previous ?? undefined), current, actor, "rollout.step");
    await d.batch([unchanged, setRollout({ step: rollout.step + 1, stepStartedAt: now }), ...statements, log]);
    return { ...decision, applied: `advanced to ${next} bp` };
  }
  // Last step passed: the alias moves to the candidate and the original deployment returns,
  // now serving the candidate wherever it followed the alias.
  const from = await currentAlias(d, model.id, rollout.alias);
  const { statements } = deploymentStatements(d, model, restore, current, actor, "rollout.complete");
  await d.batch([
    unchanged,
    setRollout({ status: "completed" }),
    ...aliasMoveStatements(d, { modelId: model.id, modelName: model.name, alias: rollout.alias, to: rollout.candidate, from, kind: "set", actor, reason: `rollout ${rollout.id} completed` }),
    ...statements,
    log,
  ]);
  return { ...decision, applied: `promoted: ${rollout.alias} → version ${rollout.candidate}` };
}

/** The cron trigger's job: evaluate every running rollout. */
export async function evaluateAll(env: Env, d: Db, now = Date.now()): Promise<number> {
  const running = await d.select().from(rollouts).where(eq(rollouts.status, "running")).all();
  for (const r of running) {
    try {
      await evaluateRollout(env, d, r, now);
    } catch (err) {
      console.error(`evaluating rollout ${r.id} failed:`, err);
    }
  }
  return running.length;
}

export async function runningRollout(d: Db, modelId: number): Promise<Rollout | undefined> {
  return d.select().from(rollouts).where(and(eq(rollouts.modelId, modelId), eq(rollouts.status, "running"))).get();
}

export function present(r: Rollout) {
  const steps = r.steps as number[];
  return {
    id: r.id,
    alias: r.alias,
    candidate: r.candidate,
    baseline: r.baseline,
    steps,
    interval_s: r.intervalS,
    step: r.step,
    weight_bp: steps[r.step],
    status: r.status,
    step_started_at: new Date(r.stepStartedAt).toISOString(),
    last_decision: r.lastDecision,
    reason: r.reason,
    actor: r.actor,
    created_at: r.createdAt,
  };
}
