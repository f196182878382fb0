// Promote a version to an alias (now, or through a staged rollout plan) and roll an alias back
// one step in its history. Both publish a new snapshot in the same atomic batch.
import { ApiError, promoteSchema, rollbackSchema } from "@verge/shared";
import { db, findModel } from "../db/client.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { startRollout } from "../rollouts/service.ts";
import { aliasStack, currentAlias, moveAlias, requireVersion } from "./aliases.ts";
import { modelParam } from "./models.ts";

export { promoteSchema, rollbackSchema };

export const promotionRoutes = newApp()
  .post("/:model/promote", guard(api.promote), validate("param", modelParam), jsonBody(promoteSchema), async (c) => {
    const d = db(c.env);
    const body = c.req.valid("json");
    const model = await findModel(d, c.req.valid("param").model);
    await requireVersion(d, model.id, model.name, body.version);
    const actor = c.get("principal").actor;
    if (body.plan) {
      const rollout = await startRollout(d, { model, candidate: body.version, alias: body.alias, plan: body.plan, actor, reason: body.reason });
      return c.json({ status: "rolling_out", rollout }, 202);
    }
    const from = await currentAlias(d, model.id, body.alias);
    if (from === body.version) throw new ApiError("conflict", `${body.alias} already points to version ${body.version}`);
    await moveAlias(d, { modelId: model.id, modelName: model.name, alias: body.alias, to: body.version, from, kind: "set", actor, reason: body.reason });
    return c.json({ status: "promoted", alias: body.alias, version: body.version, previous: from ?? null });
  })
  .post("/:model/rollback", guard(api.rollback), validate("param", modelParam), jsonBody(rollbackSchema), async (c) => {
    const d = db(c.env);
    const { alias, reason } = c.req.valid("json");
    const model = await findModel(d, c.req.valid("param").model);
    const result = await rollbackAlias(d, model, alias, c.get("principal").actor, reason);
    return c.json({ status: "rolled_back", alias, ...result });
  });

/** Moves an alias one step back in its history. */
export async function rollbackAlias(d: ReturnType<typeof db>, model: { id: number; name: string }, alias: string, actor: string, reason?: string) {
  const stack = await aliasStack(d, model.id, alias);
  const from = stack.at(-1);
  const to = stack.at(-2);
  if (from === undefined || to === undefined) throw new ApiError("conflict", `alias "${alias}" has no earlier version to roll back to`);
  await moveAlias(d, { modelId: model.id, modelName: model.name, alias, to, from, kind: "rollback", actor, reason });
  return { version: to, previous: from };
}
