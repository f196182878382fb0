// Dead letters for operators: list them (with the pipeline's own counters), read one, re-drive it
// to its queue. Re-driving is safe to repeat: the consumers count each record and label once.
import { and, count, desc, eq, type SQL } from "drizzle-orm";
import { ApiError, deadLetterIdParamSchema, deadLettersQuerySchema, jsonBytes, type DeadLetter } from "@verge/shared";
import { auditEntry, db } from "../db/client.ts";
import { counters, deadLetters } from "../db/schema.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { SPILL_PREFIX } from "../lake/keys.ts";
import { deadBodies } from "./store.ts";
import { SPILL_COUNTER } from "./spill.ts";

const idParam = deadLetterIdParamSchema;

const present = (r: typeof deadLetters.$inferSelect): DeadLetter => ({
  id: r.id,
  queue: r.queue,
  reason: r.reason,
  messages: r.messages,
  status: r.status,
  received_at: r.receivedAt,
  redriven_at: r.redrivenAt,
  redriven_by: r.redrivenBy,
});

export const deadLetterRoutes = newApp()
  .get("/", guard(api.listDeadLetters), validate("query", deadLettersQuerySchema), async (c) => {
    const d = db(c.env);
    const q = c.req.valid("query");
    const where: SQL[] = [];
    if (q.queue) where.push(eq(deadLetters.queue, q.queue));
    if (q.status) where.push(eq(deadLetters.status, q.status));
    const [rows, [dead], [spilled], pending] = await Promise.all([
      d.select().from(deadLetters).where(and(...where)).orderBy(desc(deadLetters.receivedAt)).limit(q.limit).all(),
      d.select({ n: count() }).from(deadLetters).where(eq(deadLetters.status, "dead")),
      d.select({ n: counters.value }).from(counters).where(eq(counters.name, SPILL_COUNTER)),
      c.env.LOGS.list({ prefix: SPILL_PREFIX, limit: 1000 }),
    ]);
    return c.json({
      dead_letters: rows.map(present),
      health: { spill_pending_objects: pending.objects.length, spill_reingested_records: spilled?.n ?? 0, dead_batches: dead?.n ?? 0 },
    });
  })
  .get("/:id", guard(api.getDeadLetter), validate("param", idParam), async (c) => {
    const d = db(c.env);
    const row = await d.select().from(deadLetters).where(eq(deadLetters.id, c.req.valid("param").id)).get();
    if (!row) throw new ApiError("not_found", `no dead letter ${c.req.valid("param").id}`);
    return c.json({ ...present(row), bodies: (await deadBodies(c.env, row.objectKey)) ?? [] });
  })
  .post("/:id/redrive", guard(api.redriveDeadLetter), validate("param", idParam), async (c) => {
    const d = db(c.env);
    const row = await d.select().from(deadLetters).where(eq(deadLetters.id, c.req.valid("param").id)).get();
    if (!row) throw new ApiError("not_found", `no dead letter ${c.req.valid("param").id}`);
    const bodies = await deadBodies(c.env, row.objectKey);
    if (!bodies) throw new ApiError("not_found", `dead letter ${row.id}: its stored batch is gone from the lake bucket`);
    const queue = row.queue === "feedback" ? c.env.FEEDBACK : c.env.PREDICTION_LOGS;
    for (const call of calls(bodies)) await queue.sendBatch(call.map((body) => ({ body, contentType: "json" as const })));
    const actor = c.get("principal").actor;
    const at = new Date().toISOString();
    await d.batch([
      d.update(deadLetters).set({ status: "redriven", redrivenAt: at, redrivenBy: actor }).where(eq(deadLetters.id, row.id)),
      auditEntry(d, { actor, action: "dead_letter.redrive", target: `dead-letters/${row.id}`, before: { status: row.status }, after: { status: "redriven", messages: bodies.length } }),
    ]);
    return c.json({ ...present({ ...row, status: "redriven", redrivenAt: at, redrivenBy: actor }), sent: bodies.length });
  });

/** sendBatch calls within the queue's limits: 100 messages and about 256 KB each. */
function calls(bodies: readonly unknown[]): unknown[][] {
  const out: unknown[][] = [];
  let current: unknown[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = jsonBytes(body);
    if (current.length && (current.length >= 100 || bytes + size > 240_000)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}
