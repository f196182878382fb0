// Following a training job's server-sent events until it ends.
import { jobEventSchema, type JobEvent, type JobView } from "@verge/shared/schemas/jobs";
import { createParser } from "eventsource-parser";
import { VergeError } from "./http.ts";
import type { TrainerClient } from "./index.ts";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Calls `onEvent` for each progress event of the job, then resolves with the job's final view. */
export async function followJob(trainer: TrainerClient, id: string, onEvent: (e: JobEvent) => void): Promise<JobView> {
  const res = await trainer.api.jobEvents({ params: { id } });
  if (!res.body) throw new VergeError(`GET /v1/jobs/${id}/events answered no stream`, res.status, "bad_response");
  let bad: Error | undefined;
  const parser = createParser({
    onEvent: (e) => {
      const parsed = jobEventSchema.safeParse(JSON.parse(e.data));
      if (parsed.success) onEvent(parsed.data);
      else bad ??= new VergeError(`job event breaks its contract: ${parsed.error.issues[0]?.message}`, 200, "bad_response");
    },
  });
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  if (bad) throw bad;
  const view = await trainer.api.getJob({ params: { id } });
  if (!TERMINAL.has(view.phase)) throw new VergeError(`the event stream of job ${id} ended while it was ${view.phase}`, 200, "incomplete");
  return view;
}
