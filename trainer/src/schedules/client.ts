// The control plane's schedule API as a trainer uses it, through the typed client: the operators'
// calls (forwarded by the trainer's own /v1/schedules) and the runners' (read the work, claim,
// report). Refusals come back as the trainer's own errors (a 409 stays a conflict, a 404 not found).
import { controlPlaneClient } from "@verge/client";
import type { ClaimRun, putScheduleSchema, ReportRun } from "@verge/shared";
import type { z } from "zod";
import type { Config } from "../config.ts";
import { asApiError } from "../registry/client.ts";

export type ScheduleClient = ReturnType<typeof scheduleClient>;

export function scheduleClient(config: Pick<Config, "VERGE_CONTROL_PLANE_URL" | "VERGE_CONTROL_PLANE_TOKEN">, fetcher: typeof fetch = fetch) {
  const { api } = controlPlaneClient({ baseUrl: config.VERGE_CONTROL_PLANE_URL, token: config.VERGE_CONTROL_PLANE_TOKEN, fetch: fetcher });
  const must = async <T>(call: Promise<T>): Promise<T> => {
    try {
      return await call;
    } catch (err) {
      throw asApiError(err);
    }
  };
  const params = (id: string) => ({ params: { id } });
  return {
    list: () => must(api.listSchedules()),
    get: (id: string) => must(api.getSchedule(params(id))),
    put: (id: string, spec: z.input<typeof putScheduleSchema>) => must(api.putSchedule({ ...params(id), body: spec })),
    remove: (id: string) => must(api.deleteSchedule(params(id))),
    pause: (id: string) => must(api.pauseSchedule(params(id))),
    resume: (id: string) => must(api.resumeSchedule(params(id))),
    runNow: (id: string) => must(api.runSchedule(params(id))),
    runs: (id: string, limit?: number) => must(api.scheduleRuns({ ...params(id), ...(limit ? { query: { limit } } : {}) })),
    work: () => must(api.scheduleWork()),
    claim: (id: string, at: number, claim: ClaimRun) => must(api.claimScheduleRun({ params: { id, at }, body: claim })),
    report: (id: string, at: number, report: ReportRun) => must(api.reportScheduleRun({ params: { id, at }, body: report })),
  };
}
