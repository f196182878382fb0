// Schedules: operators create, change, pause, resume and "run now"; trainers read the work and
// claim and report runs. Every operator change is in the audit log.
import type { Context } from "hono";
import { desc, eq, sql } from "drizzle-orm";
import { ApiError, claimRunSchema, putScheduleSchema, reportRunSchema, runsQuerySchema, scheduleParamSchema, scheduleRunParamSchema, type PutSchedule } from "@verge/shared";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { auditEntry, db, precondition, type Db } from "../db/client.ts";
import { scheduleRuns, schedules } from "../db/schema.ts";
import { jsonBody, newApp, validate, type AppEnv } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { maskCommands, seesMasked } from "../http/mask.ts";
import { claimRun, findSchedule, presentRun, presentSchedules, reportRun, work } from "./service.ts";

export const scheduleRoutes = newApp()
  .get("/", guard(api.listSchedules), async (c) => {
    const d = db(c.env);
    const views = await presentSchedules(d, await d.select().from(schedules).orderBy(schedules.id).all());
    return c.json({ schedules: seesMasked(c.get("principal")) ? maskCommands(views) : views });
  })
  // For trainers: every schedule and the open runs, with the control plane's clock.
  .get("/_work", guard(api.scheduleWork), async (c) => c.json(await work(db(c.env))))
  .put("/:id", guard(api.putSchedule), validate("param", scheduleParamSchema), jsonBody(putScheduleSchema), async (c) => {
    const d = db(c.env);
    const { id } = c.req.valid("param");
    const spec = c.req.valid("json");
    // A command job runs a program on the trainer's host, as the trainer: an admin's decision.
    const principal = c.get("principal");
    if (spec.task.kind === "train" && spec.task.job.command && (principal.kind !== "token" || principal.role !== "admin")) {
      throw new ApiError("forbidden", "task.job.algorithm: a schedule that runs a \"command\" job needs the admin role");
    }
    const before = await d.select().from(schedules).where(eq(schedules.id, id)).get();
    const now = Date.now();
    const old = before?.spec as PutSchedule | undefined;
    // A new schedule, a new timing or a resume starts from now: earlier cron times are not run.
    const restart = !before || old!.cron !== spec.cron || old!.timezone !== spec.timezone || (before.paused && !spec.paused);
    const actor = c.get("principal").actor;
    const row = { spec, paused: spec.paused, activeSince: restart ? now : before!.activeSince, updatedAt: new Date(now).toISOString() };
    const audit = auditEntry(d, { actor, action: before ? "schedule.update" : "schedule.create", target: `schedules/${id}`, before: old ?? null, after: spec });
    if (before) await d.batch([unchanged(d, id, before.revision), d.update(schedules).set({ ...row, revision: before.revision + 1 }).where(eq(schedules.id, id)), audit]);
    else await d.batch([d.insert(schedules).values({ id, ...row, createdBy: actor }), audit]);
    const [view] = await presentSchedules(d, [await findSchedule(d, id)]);
    return c.json(view, before ? 200 : 201);
  })
  .get("/:id", guard(api.getSchedule), validate("param", scheduleParamSchema), async (c) => {
    const d = db(c.env);
    const [view] = await presentSchedules(d, [await findSchedule(d, c.req.valid("param").id)]);
    return c.json(seesMasked(c.get("principal")) ? maskCommands(view!) : view);
  })
  .delete("/:id", guard(api.deleteSchedule), validate("param", scheduleParamSchema), async (c) => {
    const d = db(c.env);
    const { id } = c.req.valid("param");
    const row = await findSchedule(d, id);
    await d.batch([
      d.delete(scheduleRuns).where(eq(scheduleRuns.scheduleId, id)),
      d.delete(schedules).where(eq(schedules.id, id)),
      auditEntry(d, { actor: c.get("principal").actor, action: "schedule.delete", target: `schedules/${id}`, before: row.spec }),
    ]);
    return c.body(null, 204);
  })
  .post("/:id/pause", guard(api.pauseSchedule), validate("param", scheduleParamSchema), (c) => setPaused(c, true))
  .post("/:id/resume", guard(api.resumeSchedule), validate("param", scheduleParamSchema), (c) => setPaused(c, false))
  // "Run now": a pending run that the next trainer to look claims (a data trigger does not hold it back).
  .post("/:id/run", guard(api.runSchedule), validate("param", scheduleParamSchema), async (c) => {
    const d = db(c.env);
    const { id } = c.req.valid("param");
    await findSchedule(d, id);
    const occurrence = new Date().toISOString();
    const actor = c.get("principal").actor;
    const [[row]] = await d.batch([
      d.insert(scheduleRuns).values({ scheduleId: id, occurrence, reason: "manual", status: "pending", attempts: [] }).returning(),
      auditEntry(d, { actor, action: "schedule.run", target: `schedules/${id}`, after: { occurrence } }),
    ]);
    return c.json(presentRun(row!), 202);
  })
  .get("/:id/runs", guard(api.scheduleRuns), validate("param", scheduleParamSchema), validate("query", runsQuerySchema), async (c) => {
    const d = db(c.env);
    const { id } = c.req.valid("param");
    await findSchedule(d, id);
    const rows = await d.select().from(scheduleRuns).where(eq(scheduleRuns.scheduleId, id)).orderBy(desc(scheduleRuns.occurrence)).limit(c.req.valid("query").limit).all();
    return c.json({ runs: rows.map(presentRun) });
  })
  .post("/:id/runs/:at/claim", guard(api.claimScheduleRun), validate("param", scheduleRunParamSchema), jsonBody(claimRunSchema), async (c) => {
    const { id, at } = c.req.valid("param");
    return c.json(await claimRun(db(c.env), id, at, c.req.valid("json")), 201);
  })
  .post("/:id/runs/:at/report", guard(api.reportScheduleRun), validate("param", scheduleRunParamSchema), jsonBody(reportRunSchema), async (c) => {
    const { id, at } = c.req.valid("param");
    return c.json(await reportRun(db(c.env), id, at, c.req.valid("json")));
  });

/** Aborts the batch (409) unless the schedule is still at `revision`. */
const unchanged = (d: Db, id: string, revision: number) => precondition(d, sql`(SELECT ${schedules.revision} FROM ${schedules} WHERE ${schedules.id} = ${id}) = ${revision}`);

async function setPaused(c: Context<AppEnv>, paused: boolean): Promise<Response> {
  const d = db(c.env);
  const id = c.req.param("id")!;
  const row = await findSchedule(d, id);
  if (row.paused === paused) throw new ApiError("conflict", `schedule "${id}" is already ${paused ? "paused" : "running"}`);
  const now = Date.now();
  const spec = { ...(row.spec as PutSchedule), paused };
  await d.batch([
    unchanged(d, id, row.revision),
    d
      .update(schedules)
      .set({ spec, paused, revision: row.revision + 1, updatedAt: new Date(now).toISOString(), ...(paused ? {} : { activeSince: now }) })
      .where(eq(schedules.id, id)),
    auditEntry(d, { actor: c.get("principal").actor, action: paused ? "schedule.pause" : "schedule.resume", target: `schedules/${id}` }),
  ]);
  const [view] = await presentSchedules(d, [await findSchedule(d, id)]);
  return c.json(view);
}
