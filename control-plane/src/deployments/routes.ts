// Deployments: weighted variants compiled to a bucket allocation, plus shadows and a fallback.
import { ApiError, putDeploymentSchema, type Allocation, type PutDeployment } from "@verge/shared";
import { db, findModel, type Db } from "../db/client.ts";
import { currentDeployment, deploymentStatements } from "./service.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "../registry/models.ts";
import { resolveTargets } from "./resolve.ts";

export const deploymentRoutes = newApp()
  .put("/:model/deployment", guard(api.putDeployment), validate("param", modelParam), jsonBody(putDeploymentSchema), async (c) => {
    const d = db(c.env);
    const spec = c.req.valid("json");
    const model = await findModel(d, c.req.valid("param").model);
    const targets = await resolveTargets(d, model.id, spec); // every version and alias must exist now
    if (spec.fallback) {
      // The fallback serves when an origin is down or an artifact is refused: it must run at the edge.
      const version = targets.variants.find((v) => v.name === spec.fallback)!.version;
      if (targets.runtimes.get(version) !== "edge") throw new ApiError("bad_request", `fallback: variant "${spec.fallback}" serves version ${version}, which is not an edge version`);
    }
    const current = await currentDeployment(d, model.id);
    checkIfMatch(c.req.header("if-match"), current?.revision);

    const { revision, statements } = deploymentStatements(d, model, spec, current, c.get("principal").actor);
    await d.batch(statements);
    return c.json(await present(d, model.id), 200, { etag: `"${revision}"` });
  })
  .get("/:model/deployment", guard(api.getDeployment), validate("param", modelParam), async (c) => {
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
  const row = await currentDeployment(d, modelId);
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
