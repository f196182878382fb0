// The deploy step of a job (used by the response playbook): if the candidate beats production on
// the holdout, mirror traffic to it as a shadow, then start a staged A/B rollout that the control
// plane's promotion rules advance (or roll back on a guardrail breach). Every change goes through
// the control plane, so each one is in its audit log.
import { ApiError, type DeployCandidate, type PutDeployment, type SubmitJob } from "@verge/shared";
import type { RegistryClient } from "../registry/client.ts";
import type { JobHandle } from "./runner.ts";
import type { WaitingStep } from "./store.ts";

export async function deployCandidate(job: JobHandle, registry: RegistryClient, plan: DeployCandidate, version: number, metrics: Record<string, number>): Promise<void> {
  const { spec } = job;
  const refusal = deployGate(spec, metrics, plan.min_improvement);
  if (refusal !== undefined) {
    job.record({ deployment: { outcome: "held", reason: refusal } });
    job.progress(1, refusal);
    return;
  }
  job.phase("deploying", 0.95, `shadowing production with version ${version} for ${plan.shadow_s} s`);
  const current = await registry.deployment(spec.model);
  const base: PutDeployment = current
    ? { variants: current.variants, shadows: current.shadows, mode: "preserve", ...(current.fallback ? { fallback: current.fallback } : {}) }
    : { variants: [{ name: "primary", alias: "production", weight: 10_000 }], shadows: [], mode: "preserve" };
  const withShadow = { ...base, shadows: [...base.shadows.filter((s) => s.version !== version), { version, rate: plan.shadow_rate }] };
  await registry.putDeployment(spec.model, withShadow, current?.revision);
  // The shadow period is a persisted wait, not a sleep: the job gives up its slot, and a restart
  // carries on from here (continueDeploy) once the period is over.
  const startedAt = Date.now();
  job.wait({ step: "rollout", version, shadow_started_at: new Date(startedAt).toISOString(), shadow_until: new Date(startedAt + plan.shadow_s * 1000).toISOString(), plan, metrics });
}

/**
 * The deploy step after the shadow period: the shadow comes out of the deployment as it is now
 * (read again, If-Match) and the staged rollout starts from there.
 */
export function continueDeploy(registry: RegistryClient) {
  return async (job: JobHandle, step: WaitingStep): Promise<void> => {
    const { spec } = job;
    const { version, plan, metrics } = step;
    await removeShadow(registry, spec.model, version);
    await registry.promote(spec.model, { version, plan: plan.rollout, reason: `job ${job.id}${spec.reason ? `: ${spec.reason}` : ""}`.slice(0, 500) });
    const reason = `version ${version} (${describe(spec, metrics)}) shadowed for ${plan.shadow_s} s, now rolling out in steps ${plan.rollout.steps.join(" → ")}`;
    job.record({ deployment: { outcome: "rolling_out", reason } });
    job.progress(1, reason);
  };
}

/** Tries at removing the shadow while operators keep changing the deployment. */
const REMOVE_TRIES = 5;

/**
 * Takes the candidate's shadow out of the deployment as it is now: read again just before the
 * write and written with If-Match on that read, so whatever operators changed during the shadow
 * period (variants, fallback, other shadows) stays; a change between the read and the write is a
 * 409, and the step reads again.
 */
export async function removeShadow(registry: RegistryClient, model: string, version: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const now = await registry.deployment(model);
    if (!now || !now.shadows.some((s) => s.version === version)) return;
    const spec: PutDeployment = {
      variants: now.variants,
      shadows: now.shadows.filter((s) => s.version !== version),
      mode: "preserve",
      ...(now.fallback ? { fallback: now.fallback } : {}),
    };
    try {
      await registry.putDeployment(model, spec, now.revision);
      return;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === "conflict") || attempt >= REMOVE_TRIES) throw err;
    }
  }
}

/**
 * Why the candidate must not deploy, or undefined when it may. A metric that is not a finite
 * number (AUC of a holdout with one class is NaN) refuses: every comparison with NaN is false,
 * so without this check an unmeasured candidate passed the gate.
 */
export function deployGate(spec: Pick<SubmitJob, "task">, metrics: Record<string, number>, minImprovement: number): string | undefined {
  const names = spec.task === "regression" ? ["rmse", "production_rmse"] : ["auc", "production_auc"];
  const compared = metrics.production_version === undefined ? names.slice(0, 1) : names;
  const unmeasured = compared.filter((n) => !Number.isFinite(metrics[n]));
  if (unmeasured.length) return `candidate not measured on the holdout (${unmeasured.map((n) => `${n} = ${String(metrics[n])}`).join(", ")}; a holdout with one class has no AUC); production kept`;
  const verdict = improvement(spec, metrics);
  if (verdict !== undefined && verdict < minImprovement) return `candidate ${describe(spec, metrics)}: improvement ${verdict.toFixed(4)} < min_improvement ${minImprovement}; production kept`;
  return undefined;
}

/** Candidate minus production on the primary metric (positive is better); undefined with no production. */
function improvement(spec: Pick<SubmitJob, "task">, m: Record<string, number>): number | undefined {
  if (m.production_version === undefined) return undefined;
  return spec.task === "regression" ? m.production_rmse! - m.rmse! : m.auc! - m.production_auc!;
}

function describe(spec: Pick<SubmitJob, "task">, m: Record<string, number>): string {
  return spec.task === "regression" ? `RMSE ${m.rmse?.toFixed(4)} vs production ${m.production_rmse?.toFixed(4) ?? "none"}` : `AUC ${m.auc?.toFixed(4)} vs production ${m.production_auc?.toFixed(4) ?? "none"}`;
}
