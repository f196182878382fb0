// GET /v1/audit: who did what, when, with the state before and after; filterable, newest first.
import { and, desc, eq, gte, like, lt, type SQL } from "drizzle-orm";
import { auditQuerySchema } from "@verge/shared";
import { db } from "../db/client.ts";
import { audit } from "../db/schema.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { maskCommands, seesMasked } from "../http/mask.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";

export const auditQuery = auditQuerySchema;

export const auditRoutes = newApp().get("/", guard(api.audit), validate("query", auditQuery), async (c) => {
  const q = c.req.valid("query");
  const where: SQL[] = [];
  if (q.target) where.push(like(audit.target, `${q.target.replace(/[%_]/g, "")}%`));
  if (q.actor) where.push(eq(audit.actor, q.actor));
  if (q.action) where.push(eq(audit.action, q.action));
  if (q.since) where.push(gte(audit.at, q.since));
  if (q.before) where.push(lt(audit.id, q.before));
  const rows = await db(c.env)
    .select()
    .from(audit)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(audit.id))
    .limit(q.limit)
    .all();
  const entries = rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, before: r.before, after: r.after }));
  return c.json({
    entries: seesMasked(c.get("principal")) ? maskCommands(entries) : entries,
    next_before: rows.length === q.limit ? rows.at(-1)!.id : null,
  });
});
