// Alerts (list, acknowledge) and webhooks (register, list, revoke).
import { and, desc, eq, isNull, type SQL } from "drizzle-orm";
import { alertIdParamSchema, alertQuerySchema, ApiError, createWebhookSchema, idParamSchema, randomToken } from "@verge/shared";
import { auditEntry, db } from "../db/client.ts";
import { alerts, deliveries, webhooks } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { presentAlert } from "./service.ts";

export const alertQuery = alertQuerySchema;
const idParam = alertIdParamSchema;
export { createWebhookSchema };

export const alertRoutes = newApp()
  .get("/", guard(api.listAlerts), validate("query", alertQuery), async (c) => {
    const q = c.req.valid("query");
    const where: SQL[] = [];
    if (q.status) where.push(eq(alerts.status, q.status));
    if (q.model) where.push(eq(alerts.model, q.model));
    const rows = await db(c.env).select().from(alerts).where(where.length ? and(...where) : undefined).orderBy(desc(alerts.id)).limit(q.limit).all();
    return c.json({ alerts: rows.map(presentAlert) });
  })
  .post("/:id/ack", guard(api.ackAlert), validate("param", idParam), async (c) => {
    const d = db(c.env);
    const { id } = c.req.valid("param");
    const row = await d.select().from(alerts).where(eq(alerts.id, id)).get();
    if (!row) throw new ApiError("not_found", `alert ${id} does not exist`);
    if (row.status !== "open") throw new ApiError("conflict", `alert ${id} is already ${row.status}`);
    const actor = c.get("principal").actor;
    await d.batch([
      d.update(alerts).set({ status: "acknowledged", ackedBy: actor, ackedAt: new Date().toISOString() }).where(and(eq(alerts.id, id), eq(alerts.status, "open"))),
      auditEntry(d, { actor, action: "alert.ack", target: `alerts/${id}`, before: { status: row.status }, after: { status: "acknowledged" } }),
    ]);
    return c.json({ id, status: "acknowledged" });
  });

export const webhookRoutes = newApp()
  .post("/", guard(api.createWebhook), jsonBody(createWebhookSchema), async (c) => {
    const d = db(c.env);
    const { url } = c.req.valid("json");
    const id = randomToken("wh", 8);
    // The secret must stay readable to sign deliveries, so unlike tokens it is stored as is.
    const secret = randomToken("whsec");
    await d.batch([d.insert(webhooks).values({ id, url, secret }), auditEntry(d, { actor: c.get("principal").actor, action: "webhook.create", target: `webhooks/${id}`, after: { url } })]);
    return c.json({ id, url, secret }, 201);
  })
  .get("/", guard(api.listWebhooks), async (c) => {
    const rows = await db(c.env).select().from(webhooks).where(isNull(webhooks.revokedAt)).all();
    return c.json({ webhooks: rows.map((w) => ({ id: w.id, url: w.url, created_at: w.createdAt })) });
  })
  // The delivery outbox of one webhook, newest first: what was sent, retried or given up.
  .get("/:id/deliveries", guard(api.webhookDeliveries), validate("param", idParamSchema), async (c) => {
    const d = db(c.env);
    const { id } = c.req.valid("param");
    if (!(await d.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.id, id)).get())) throw new ApiError("not_found", `webhook "${id}" does not exist`);
    const rows = await d.select().from(deliveries).where(eq(deliveries.webhookId, id)).orderBy(desc(deliveries.id)).limit(100).all();
    return c.json({
      deliveries: rows.map((r) => ({ alert_id: r.alertId, status: r.status, attempts: r.attempts, next_attempt_at: r.status === "pending" ? new Date(r.nextAttemptAt).toISOString() : null, last_error: r.lastError })),
    });
  })
  .delete("/:id", guard(api.revokeWebhook), validate("param", idParamSchema), async (c) => {
    const d = db(c.env);
    const { id } = c.req.valid("param");
    const row = await d.select().from(webhooks).where(and(eq(webhooks.id, id), isNull(webhooks.revokedAt))).get();
    if (!row) throw new ApiError("not_found", `webhook "${id}" does not exist`);
    await d.batch([d.update(webhooks).set({ revokedAt: new Date().toISOString() }).where(eq(webhooks.id, id)), auditEntry(d, { actor: c.get("principal").actor, action: "webhook.revoke", target: `webhooks/${id}`, before: { url: row.url } })]);
    return c.body(null, 204);
  });
