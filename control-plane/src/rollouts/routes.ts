// Promotion rules per model, and staged rollouts: list, evaluate now, cancel.
import { desc, eq } from "drizzle-orm";
import { ApiError, DEFAULT_PROMOTION_RULE, promotionRuleSchema } from "@verge/shared";
import { auditEntry, db, findModel } from "../db/client.ts";
import { promotionRules, rollouts } from "../db/schema.ts";
import { currentDeployment, deploymentStatements } from "../deployments/service.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "../registry/models.ts";
import { evaluateRollout, present, runningRollout } from "./service.ts";
import type { PutDeployment } from "@verge/shared";

export const rolloutRoutes = newApp()
  .put("/:model/promotion-rule", guard(api.putPromotionRule), validate("param", modelParam), jsonBody(promotionRuleSchema), async (c) => {
    const d = db(c.env);
    const rule = c.req.valid("json");
    const model = await findModel(d, c.req.valid("param").model);
    const before = await d.select().from(promotionRules).where(eq(promotionRules.modelId, model.id)).get();
    await d.batch([
      d
        .insert(promotionRules)
        .values({ modelId: model.id, rule })
        .onConflictDoUpdate({ target: promotionRules.modelId, set: { rule, updatedAt: new Date().toISOString() } }),
      auditEntry(d, { actor: c.get("principal").actor, action: "promotion_rule.put", target: `models/${model.name}/promotion-rule`, before: before?.rule ?? null, after: rule }),
    ]);
    return c.json(rule);
  })
  .get("/:model/promotion-rule", guard(api.getPromotionRule), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const row = await d.select().from(promotionRules).where(eq(promotionRules.modelId, model.id)).get();
    return c.json({ ...(row?.rule ?? DEFAULT_PROMOTION_RULE), default: !row });
  })
  .get("/:model/rollouts", guard(api.listRollouts), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const rows = await d.select().from(rollouts).where(eq(rollouts.modelId, model.id)).orderBy(desc(rollouts.id)).limit(50).all();
    return c.json({ rollouts: rows.map(present) });
  })
  .post("/:model/rollouts/evaluate", guard(api.evaluateRollout), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const rollout = await runningRollout(d, model.id);
    if (!rollout) throw new ApiError("not_found", `model "${model.name}" has no running rollout`);
    const decision = await evaluateRollout(c.env, d, rollout, Date.now(), c.get("principal").actor);
    const after = (await d.select().from(rollouts).where(eq(rollouts.id, rollout.id)).get())!;
    return c.json({ decision, rollout: present(after) });
  })
  .post("/:model/rollouts/cancel", guard(api.cancelRollout), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const rollout = await runningRollout(d, model.id);
    if (!rollout) throw new ApiError("not_found", `model "${model.name}" has no running rollout`);
    const actor = c.get("principal").actor;
    const restore = (rollout.previousDeployment as PutDeployment | null) ?? { variants: [{ name: "primary", alias: rollout.alias, weight: 10_000 }], shadows: [], mode: "preserve" as const };
    const { statements } = deploymentStatements(d, model, restore, await currentDeployment(d, model.id), actor, "rollout.cancel");
    await d.batch([d.update(rollouts).set({ status: "cancelled", reason: "cancelled by operator" }).where(eq(rollouts.id, rollout.id)), ...statements]);
    return c.json({ status: "cancelled" });
  });
