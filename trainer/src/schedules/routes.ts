// The trainer's /v1/schedules: the operators' schedule API, kept by the control plane (so every
// trainer replica sees the same schedules and runs) and reached here with the trainer's token.
import { Hono } from "hono";
import { putScheduleSchema, runsQuerySchema, scheduleParamSchema } from "@verge/shared";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { jsonBody, validate } from "@verge/shared/http";
import { describe } from "@verge/shared/openapi";
import type { ScheduleClient } from "./client.ts";

/** `kick` asks this trainer's scheduler to look now, so "run now" does not wait for its next tick. */
export function scheduleRoutes(client: ScheduleClient, kick: () => void) {
  return new Hono()
    .get("/", describe(api.listSchedules), async (c) => c.json(await client.list()))
    .put("/:id", describe(api.putSchedule), validate("param", scheduleParamSchema), jsonBody(putScheduleSchema), async (c) => {
      const { id } = c.req.valid("param");
      const existed = await client.get(id).then(
        () => true,
        () => false,
      );
      // The body as the operator sent it, validated here and again by the control plane.
      return c.json(await client.put(id, c.req.valid("json")), existed ? 200 : 201);
    })
    .get("/:id", describe(api.getSchedule), validate("param", scheduleParamSchema), async (c) => c.json(await client.get(c.req.valid("param").id)))
    .delete("/:id", describe(api.deleteSchedule), validate("param", scheduleParamSchema), async (c) => {
      await client.remove(c.req.valid("param").id);
      return c.body(null, 204);
    })
    .post("/:id/pause", describe(api.pauseSchedule), validate("param", scheduleParamSchema), async (c) => c.json(await client.pause(c.req.valid("param").id)))
    .post("/:id/resume", describe(api.resumeSchedule), validate("param", scheduleParamSchema), async (c) => c.json(await client.resume(c.req.valid("param").id)))
    .post("/:id/run", describe(api.runSchedule), validate("param", scheduleParamSchema), async (c) => {
      const run = await client.runNow(c.req.valid("param").id);
      kick();
      return c.json(run, 202);
    })
    .get("/:id/runs", describe(api.scheduleRuns), validate("param", scheduleParamSchema), validate("query", runsQuerySchema), async (c) => c.json(await client.runs(c.req.valid("param").id, c.req.valid("query").limit)));
}
