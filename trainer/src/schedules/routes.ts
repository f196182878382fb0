// The trainer's /v1/schedules: the operators' schedule API, kept by the control plane (so every
// trainer replica sees the same schedules and runs) and reached here with the trainer's token.
import { Hono } from "hono";
import { z } from "zod";
import { putScheduleSchema, runsQuerySchema, scheduleIdSchema } from "@verge/shared";
import { jsonBody, validate } from "@verge/shared/http";
import type { ScheduleClient } from "./client.ts";

const idParam = z.object({ id: scheduleIdSchema });

export function scheduleRoutes(client: ScheduleClient, kick: () => void) {
  return new Hono()
    .get("/", async (c) => c.json(await client.list()))
    .put("/:id", validate("param", idParam), jsonBody(putScheduleSchema), async (c) => {
      const { id } = c.req.valid("param");
      const existed = await client.get(id).then(
        () => true,
        () => false,
      );
      // The body as the operator sent it, validated here and again by the control plane.
      return c.json(await client.put(id, c.req.valid("json")), existed ? 200 : 201);
    })
    .get("/:id", validate("param", idParam), async (c) => c.json(await client.get(c.req.valid("param").id)))
    .delete("/:id", validate("param", idParam), async (c) => {
      await client.remove(c.req.valid("param").id);
      return c.body(null, 204);
    })
    .post("/:id/pause", validate("param", idParam), async (c) => c.json(await client.pause(c.req.valid("param").id)))
    .post("/:id/resume", validate("param", idParam), async (c) => c.json(await client.resume(c.req.valid("param").id)))
    .post("/:id/run", validate("param", idParam), async (c) => {
      const run = await client.runNow(c.req.valid("param").id);
      kick();
      return c.json(run, 202);
    })
    .get("/:id/runs", validate("param", idParam), validate("query", runsQuerySchema), async (c) => c.json(await client.runs(c.req.valid("param").id, c.req.valid("query").limit)));
}
