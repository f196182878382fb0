// Deployment changes as batch statements, shared by the deployment API and staged rollouts.
import { and, eq, sql } from "drizzle-orm";
import { compileAllocation, reweightAllocation, type Allocation, type PutDeployment } from "@verge/shared";
import { auditEntry, bumpSnapshot, precondition, type Db } from "../db/client.ts";
import { deployments } from "../db/schema.ts";

export type DeploymentRow = typeof deployments.$inferSelect;

export async function currentDeployment(d: Db, modelId: number): Promise<DeploymentRow | undefined> {
  return d.select().from(deployments).where(eq(deployments.modelId, modelId)).get();
}

/**
 * The statements that replace a model's deployment with `spec`: a precondition that nobody
 * changed it since `current` was read, the write, a snapshot bump and the audit entry.
 */
export function deploymentStatements(d: Db, model: { id: number; name: string }, spec: PutDeployment, current: DeploymentRow | undefined, actor: string, action = "deployment.put") {
  const weights = spec.variants.map((v) => ({ name: v.name, weight: v.weight }));
  const allocation = !current || spec.mode === "reshuffle" ? compileAllocation(weights) : reweightAllocation(current.allocation as Allocation, weights);
  const epoch = current ? current.epoch + (spec.mode === "reshuffle" ? 1 : 0) : 0;
  const revision = (current?.revision ?? 0) + 1;
  const row = { modelId: model.id, epoch, spec, allocation, revision };
  const unchanged = current
    ? sql`(SELECT ${deployments.revision} FROM ${deployments} WHERE ${deployments.modelId} = ${model.id}) = ${current.revision}`
    : sql`NOT EXISTS (SELECT 1 FROM ${deployments} WHERE ${deployments.modelId} = ${model.id})`;
  return {
    revision,
    statements: [
      precondition(d, unchanged),
      current
        ? d.update(deployments).set({ ...row, updatedAt: new Date().toISOString() }).where(and(eq(deployments.modelId, model.id), eq(deployments.revision, current.revision)))
        : d.insert(deployments).values(row),
      bumpSnapshot(d),
      auditEntry(d, { actor, action, target: `models/${model.name}/deployment`, before: current ? { spec: current.spec, epoch: current.epoch } : null, after: { spec, epoch } }),
    ] as const,
  };
}
