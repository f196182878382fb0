// The trainer's /v1/schedules: the operators' schedule API, kept by the control plane (so every
// trainer replica sees the same schedules and runs) and reached here with the caller's role and forwarded with the trainer's own token.
import { Hono } from "hono";
import { putScheduleSchema, runsQuerySchema, scheduleParamSchema } from "@verge/shared";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { jsonBody, validate } from "@verge/shared/http";
import { ApiError } from "@verge/shared";
import { guard, type TrainerEnv } from "../http/auth.ts";
import type { ScheduleClient } from "./client.ts";

/** `kick` asks this trainer's scheduler to look now, so "run now" does not wait for its next tick. */
export function scheduleRoutes(client: ScheduleClient, kick: () => void) {
  return new Hono<TrainerEnv>()
    .get("/", guard(api.listSchedules), async (c) => c.json(await client.list()))
    .put("/:id", guard(api.putSchedule), validate("param", scheduleParamSchema), jsonBody(putScheduleSchema), async (c) => {
      const { id } = c.req.valid("param");
      const spec = c.req.valid("json");
      // Forwarded with this trainer's operator token: a command job's schedule is an admin's, set on the control plane itself.
      if (spec.task.kind === "train" && spec.task.job.command) throw new ApiError("forbidden", "task.job.algorithm: a schedule that runs a \"command\" job is set on the control plane, with an admin token");
      const existed = await client.get(id).then(
        () => true,
        () => false,
      );
      // The body as the operator sent it, validated here and again by the control plane.
      return c.json(await client.put(id, spec), existed ? 200 : 201);
    })
    .get("/:id", guard(api.getSchedule), validate("param", scheduleParamSchema), async (c) => c.json(await client.get(c.req.valid("param").id)))
    .delete("/:id", guard(api.deleteSchedule), validate("param", scheduleParamSchema), async (c) => {
      await client.remove(c.req.valid("param").id);
      return c.body(null, 204);
    })
    .post("/:id/pause", guard(api.pauseSchedule), validate("param", scheduleParamSchema), async (c) => c.json(await client.pause(c.req.valid("param").id)))
    .post("/:id/resume", guard(api.resumeSchedule), validate("param", scheduleParamSchema), async (c) => c.json(await client.resume(c.req.valid("param").id)))
    .post("/:id/run", guard(api.runSchedule), validate("param", scheduleParamSchema), async (c) => {
      const run = await client.runNow(c.req.valid("param").id);
      kick();
      return c.json(run, 202);
    })
    .get("/:id/runs", guard(api.scheduleRuns), validate("param", scheduleParamSchema), validate("query", runsQuerySchema), async (c) => c.json(await client.runs(c.req.valid("param").id, c.req.valid("query").limit)));
}
