// A job handle for calling a pipeline step directly: no folder and no store; what the step
// records and the wait it parks on are kept for the test to read.
import type { JobView, SubmitJob } from "@verge/shared";
import type { JobHandle } from "../src/jobs/runner.ts";
import type { WaitingStep } from "../src/jobs/store.ts";

export function recordingJob(spec: SubmitJob, recorded: Partial<JobView>[], onWait: (step: WaitingStep) => void = () => undefined): JobHandle {
  return {
    id: "j",
    spec,
    signal: new AbortController().signal,
    dir: "/nonexistent",
    store: undefined as never,
    phase: () => undefined,
    progress: () => undefined,
    record: (fields) => void recorded.push(fields),
    wait: onWait,
  };
}
