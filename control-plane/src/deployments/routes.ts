// Deployments: weighted variants compiled to a bucket allocation, plus shadows and a fallback.
import { and, eq, sql } from "drizzle-orm";
import { ApiError, compileAllocation, putDeploymentSchema, reweightAllocation, type Allocation, type PutDeployment } from "@verge/shared";
import { auditEntry, bumpSnapshot, db, findModel, precondition, type Db } from "../db/client.ts";
import { deployments } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { requireRole } from "../http/auth.ts";
import { modelParam } from "../registry/models.ts";
import { resolveTargets } from "./resolve.ts";

export const deploymentRoutes = newApp()
  .put("/:model/deployment", requireRole("operator"), validate("param", modelParam), jsonBody(putDeploymentSchema), async (c) => {
    const d = db(c.env);
    const spec = c.req.valid("json");
    const model = await findModel(d, c.req.valid("param").model);
    await resolveTargets(d, model.id, spec); // every version and alias must exist now
    const current = await d.select().from(deployments).where(eq(deployments.modelId, model.id)).get();
    checkIfMatch(c.req.header("if-match"), current?.revision);

    const weights = spec.variants.map((v) => ({ name: v.name, weight: v.weight }));
    const reshuffle = !current || spec.mode === "reshuffle";
    const allocation = reshuffle ? compileAllocation(weights) : reweightAllocation(current.allocation as Allocation, weights);
    const epoch = current ? current.epoch + (spec.mode === "reshuffle" ? 1 : 0) : 0;
    const revision = (current?.revision ?? 0) + 1;
    const actor = c.get("principal").actor;
    const row = { modelId: model.id, epoch, spec, allocation, revision };
    // The allocation was computed from `current`: commit only if nobody changed it meanwhile.
    const unchanged = current
      ? sql`(SELECT ${deployments.revision} FROM ${deployments} WHERE ${deployments.modelId} = ${model.id}) = ${current.revision}`
      : sql`NOT EXISTS (SELECT 1 FROM ${deployments} WHERE ${deployments.modelId} = ${model.id})`;
    await d.batch([
      precondition(d, unchanged),
      current
        ? d.update(deployments).set({ ...row, updatedAt: new Date().toISOString() }).where(and(eq(deployments.modelId, model.id), eq(deployments.revision, current.revision)))
        : d.insert(deployments).values(row),
      bumpSnapshot(d),
      auditEntry(d, { actor, action: "deployment.put", target: `models/${model.name}/deployment`, before: current ? { spec: current.spec, epoch: current.epoch } : null, after: { spec, epoch } }),
    ]);
    return c.json(await present(d, model.id), 200, { etag: `"${revision}"` });
  })
  .get("/:model/deployment", requireRole("viewer"), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const body = await present(d, model.id);
    if (!body) throw new ApiError("not_found", `model "${model.name}" has no deployment`);
    return c.json(body, 200, { etag: `"${body.revision}"` });
  });

function checkIfMatch(header: string | undefined, revision: number | undefined): void {
  if (header === undefined) return;
  if (revision === undefined || header.replace(/^W\//, "").replaceAll('"', "") !== String(revision)) {
    throw new ApiError("conflict", `if-match: the deployment is at revision ${revision ?? "none"}, not ${header}`);
  }
}

async function present(d: Db, modelId: number) {
  const row = await d.select().from(deployments).where(eq(deployments.modelId, modelId)).get();
  if (!row) return undefined;
  const spec = row.spec as PutDeployment;
  const resolved = await resolveTargets(d, modelId, spec);
  return {
    ...spec,
    epoch: row.epoch,
    revision: row.revision,
    updated_at: row.updatedAt,
    allocation: row.allocation as Allocation,
    resolved: { variants: resolved.variants, shadows: resolved.shadows },
  };
}
