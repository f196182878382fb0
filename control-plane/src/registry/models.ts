// Models: create, list, read.
import { eq } from "drizzle-orm";
import { ApiError, createModelSchema, modelParamSchema } from "@verge/shared";
import { auditEntry, db, findModel } from "../db/client.ts";
import { models } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";

export const modelParam = modelParamSchema;

export const modelRoutes = newApp()
  .post("/", guard(api.createModel), jsonBody(createModelSchema), async (c) => {
    const body = c.req.valid("json");
    const d = db(c.env);
    const existing = await d.select({ id: models.id }).from(models).where(eq(models.name, body.name)).get();
    if (existing) throw new ApiError("conflict", `model "${body.name}" already exists`);
    const actor = c.get("principal").actor;
    const [[created]] = await d.batch([
      d.insert(models).values({ ...body, createdBy: actor }).returning(),
      auditEntry(d, { actor, action: "model.create", target: `models/${body.name}`, after: body }),
    ]);
    return c.json(present(created!), 201);
  })
  .get("/", guard(api.listModels), async (c) => {
    const rows = await db(c.env).select().from(models).orderBy(models.name).all();
    return c.json({ models: rows.map(present) });
  })
  .get("/:model", guard(api.getModel), validate("param", modelParam), async (c) => {
    return c.json(present(await findModel(db(c.env), c.req.valid("param").model)));
  });

function present(m: typeof models.$inferSelect) {
  return { name: m.name, task: m.task, description: m.description, created_at: m.createdAt, created_by: m.createdBy };
}
