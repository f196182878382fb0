// GET /v1/audit: who did what, when, with the state before and after; filterable, newest first.
import { and, desc, eq, gte, like, lt, type SQL } from "drizzle-orm";
import { z } from "zod";
import { db } from "../db/client.ts";
import { audit } from "../db/schema.ts";
import { newApp, validate } from "../http/app.ts";
import { requireRole } from "../http/auth.ts";

export const auditQuery = z.object({
  /** A target prefix, e.g. `models/demo`. */
  target: z.string().max(256).optional(),
  actor: z.string().max(256).optional(),
  action: z.string().max(64).optional(),
  since: z.iso.datetime().optional(),
  /** Page backwards: entries with an id below this one. */
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const auditRoutes = newApp().get("/", requireRole("viewer"), validate("query", auditQuery), async (c) => {
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
  return c.json({
    entries: rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, before: r.before, after: r.after })),
    next_before: rows.length === q.limit ? rows.at(-1)!.id : null,
  });
});
