// Client API keys for the gateway: scoped to models, shown once, stored hashed.
import { eq, isNull, and } from "drizzle-orm";
import { idParam } from "./tokens.ts";
import { ApiError, createKeySchema, randomToken, sha256Hex } from "@verge/shared";
import { auditEntry, bumpSnapshot, db } from "../db/client.ts";
import { apiKeys } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";

export const keyRoutes = newApp()
  .post("/", guard(api.createKey), jsonBody(createKeySchema), async (c) => {
    const body = c.req.valid("json");
    const d = db(c.env);
    const key = body.key ?? randomToken("vk");
    const hash = await sha256Hex(key);
    if (await d.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.hash, hash)).get()) {
      throw new ApiError("conflict", "key: this key already exists");
    }
    const id = randomToken("key", 8);
    const actor = c.get("principal").actor;
    const record = { name: body.name, models: body.models, rate_limit: body.rate_limit ?? null };
    await d.batch([
      d.insert(apiKeys).values({ id, name: body.name, hash, models: body.models, rateLimit: body.rate_limit ?? null }),
      bumpSnapshot(d),
      auditEntry(d, { actor, action: "key.create", target: `keys/${id}`, after: record }),
    ]);
    return c.json({ id, key, ...record }, 201);
  })
  .get("/", guard(api.listKeys), async (c) => {
    const rows = await db(c.env).select().from(apiKeys).where(isNull(apiKeys.revokedAt)).all();
    return c.json({ keys: rows.map((k) => ({ id: k.id, name: k.name, models: k.models, rate_limit: k.rateLimit, created_at: k.createdAt })) });
  })
  .delete("/:id", guard(api.revokeKey), validate("param", idParam), async (c) => {
    const { id } = c.req.valid("param");
    const d = db(c.env);
    const row = await d.select().from(apiKeys).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).get();
    if (!row) throw new ApiError("not_found", `key "${id}" does not exist or is already revoked`);
    await d.batch([
      d.update(apiKeys).set({ revokedAt: new Date().toISOString() }).where(eq(apiKeys.id, id)),
      bumpSnapshot(d),
      auditEntry(d, { actor: c.get("principal").actor, action: "key.revoke", target: `keys/${id}`, before: { name: row.name } }),
    ]);
    return c.body(null, 204);
  });
