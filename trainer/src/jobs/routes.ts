// The jobs API: submit (idempotent by client id), list, status, server-sent events, cancel.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { jobIdSchema, submitJobSchema, type JobEvent } from "@verge/shared";
import { jsonBody, validate } from "@verge/shared/http";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { ApiError } from "@verge/shared";
import { guard, hasRole, type TrainerEnv } from "../http/auth.ts";
import { checkCommandAllowed } from "./command-policy.ts";
import { isTerminal, type JobRunner } from "./runner.ts";

const idParam = z.object({ id: jobIdSchema });

/** `allowlist`: the executables `command` jobs may run (VERGE_COMMAND_ALLOWLIST). */
export function jobRoutes(runner: JobRunner, allowlist: readonly string[]) {
  return new Hono<TrainerEnv>()
    .post("/", guard(api.submitJob), jsonBody(submitJobSchema), async (c) => {
      const spec = c.req.valid("json");
      // A command job runs a program on this host: the admin role, and an executable the host allows.
      if (spec.command) {
        if (!hasRole(c, "admin")) throw new ApiError("forbidden", "algorithm: a \"command\" job needs the admin role");
        checkCommandAllowed(spec.command, allowlist);
      }
      const { view, created } = await runner.submit(spec);
      return c.json({ id: view.id, phase: view.phase, created }, created ? 202 : 200, { location: `/v1/jobs/${view.id}` });
    })
    .get("/", guard(api.listJobs), (c) => c.json({ jobs: runner.list() }))
    .get("/:id", guard(api.getJob), validate("param", idParam), (c) => c.json(runner.get(c.req.valid("param").id)))
    .post("/:id/cancel", guard(api.cancelJob), validate("param", idParam), (c) => c.json(runner.cancel(c.req.valid("param").id), 202))
    .get("/:id/events", guard(api.jobEvents), validate("param", idParam), (c) => {
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
