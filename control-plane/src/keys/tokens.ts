// Admin-API tokens with roles (viewer < operator < admin): shown once, stored hashed.
import { and, eq, isNull } from "drizzle-orm";
import { ApiError, createTokenSchema, idParamSchema, randomToken, sha256Hex } from "@verge/shared";
import { auditEntry, db } from "../db/client.ts";
import { tokens } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";

export { createTokenSchema };
export const idParam = idParamSchema;

export const tokenRoutes = newApp()
  .post("/", guard(api.createToken), jsonBody(createTokenSchema), async (c) => {
    const body = c.req.valid("json");
    const d = db(c.env);
    const token = randomToken("vt");
    const id = randomToken("tok", 8);
    const actor = c.get("principal").actor;
    await d.batch([
      d.insert(tokens).values({ id, name: body.name, role: body.role, hash: await sha256Hex(token), createdBy: actor }),
      auditEntry(d, { actor, action: "token.create", target: `tokens/${id}`, after: body }),
    ]);
    return c.json({ id, token, ...body }, 201);
  })
  .get("/", guard(api.listTokens), async (c) => {
    const rows = await db(c.env).select().from(tokens).where(isNull(tokens.revokedAt)).all();
    return c.json({ tokens: rows.map((t) => ({ id: t.id, name: t.name, role: t.role, created_at: t.createdAt, created_by: t.createdBy })) });
  })
  .delete("/:id", guard(api.revokeToken), validate("param", idParam), async (c) => {
    const { id } = c.req.valid("param");
    const d = db(c.env);
    const row = await d.select().from(tokens).where(and(eq(tokens.id, id), isNull(tokens.revokedAt))).get();
    if (!row) throw new ApiError("not_found", `token "${id}" does not exist or is already revoked`);
    await d.batch([
      d.update(tokens).set({ revokedAt: new Date().toISOString() }).where(eq(tokens.id, id)),
      auditEntry(d, { actor: c.get("principal").actor, action: "token.revoke", target: `tokens/${id}`, before: { name: row.name, role: row.role } }),
    ]);
    return c.body(null, 204);
  });
