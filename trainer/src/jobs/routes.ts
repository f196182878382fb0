// The jobs API: submit (idempotent by client id), list, status, server-sent events, cancel.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { jobIdSchema, submitJobSchema, type JobEvent } from "@verge/shared";
import { jsonBody, validate } from "@verge/shared/http";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { describe } from "@verge/shared/openapi";
import { isTerminal, type JobRunner } from "./runner.ts";

const idParam = z.object({ id: jobIdSchema });

export function jobRoutes(runner: JobRunner) {
  return new Hono()
    .post("/", describe(api.submitJob), jsonBody(submitJobSchema), async (c) => {
      const { view, created } = await runner.submit(c.req.valid("json"));
      return c.json({ id: view.id, phase: view.phase, created }, created ? 202 : 200, { location: `/v1/jobs/${view.id}` });
    })
    .get("/", describe(api.listJobs), (c) => c.json({ jobs: runner.list() }))
    .get("/:id", describe(api.getJob), validate("param", idParam), (c) => c.json(runner.get(c.req.valid("param").id)))
    .post("/:id/cancel", describe(api.cancelJob), validate("param", idParam), (c) => c.json(runner.cancel(c.req.valid("param").id), 202))
    .get("/:id/events", describe(api.jobEvents), validate("param", idParam), (c) => {
      const { id } = c.req.valid("param");
      const past = runner.events(id);
      const after = Number(c.req.header("last-event-id") ?? 0) || 0;
      return streamSSE(c, async (stream) => {
        let last = after;
        let done: () => void = () => {};
        const finished = new Promise<void>((r) => (done = r));
        const send = async (e: JobEvent) => {
          if (e.seq <= last) return;
          last = e.seq;
          await stream.writeSSE({ id: String(e.seq), event: e.phase, data: JSON.stringify(e) });
          if (isTerminal(e.phase)) done();
        };
        // Subscribe before replaying, so an event between the two is neither lost nor sent twice.
        const pending: JobEvent[] = [];
        let live = false;
        const unsubscribe = runner.subscribe(id, (e) => (live ? void send(e) : pending.push(e)));
        stream.onAbort(() => {
          unsubscribe();
          done();
        });
        for (const e of past) await send(e);
        while (pending.length > 0) for (const e of pending.splice(0)) await send(e);
        live = true;
        if (isTerminal(runner.get(id).phase)) done();
        await finished;
        unsubscribe();
      });
    });
}
