// The control plane's schedule API as a trainer uses it: the operators' calls (forwarded by the
// trainer's own /v1/schedules) and the runners' (read the work, claim, report).
import { ApiError, type ClaimRun, type ReportRun, type ScheduleRunView, type ScheduleView } from "@verge/shared";
import type { Config } from "../config.ts";
import { registryError } from "../registry/client.ts";

export interface ScheduleWork {
  now: string;
  schedules: ScheduleView[];
  open_runs: ScheduleRunView[];
}

export type ScheduleClient = ReturnType<typeof scheduleClient>;

export function scheduleClient(config: Pick<Config, "VERGE_CONTROL_PLANE_URL" | "VERGE_CONTROL_PLANE_TOKEN">, fetcher: typeof fetch = fetch) {
  const base = `${config.VERGE_CONTROL_PLANE_URL.replace(/\/$/, "")}/v1/schedules`;
  async function call<T>(method: string, path: string, body?: unknown, query = ""): Promise<T> {
    let res: Response;
    try {
      res = await fetcher(`${base}${path}${query}`, {
        method,
        headers: { authorization: `Bearer ${config.VERGE_CONTROL_PLANE_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ApiError("unavailable", `the control plane at ${config.VERGE_CONTROL_PLANE_URL} is unreachable (${(err as Error).message})`);
    }
    if (res.status === 204) return undefined as T;
    if (!res.ok) throw await registryError(method, `/v1/schedules${path}`, res);
    return (await res.json()) as T;
  }
  const one = (id: string) => `/${encodeURIComponent(id)}`;
  return {
    list: () => call<{ schedules: ScheduleView[] }>("GET", ""),
    get: (id: string) => call<ScheduleView>("GET", one(id)),
    put: (id: string, spec: unknown) => call<ScheduleView>("PUT", one(id), spec),
    remove: (id: string) => call<void>("DELETE", one(id)),
    pause: (id: string) => call<ScheduleView>("POST", `${one(id)}/pause`),
    resume: (id: string) => call<ScheduleView>("POST", `${one(id)}/resume`),
    runNow: (id: string) => call<ScheduleRunView>("POST", `${one(id)}/run`),
    runs: (id: string, limit?: number) => call<{ runs: ScheduleRunView[] }>("GET", `${one(id)}/runs`, undefined, limit ? `?limit=${limit}` : ""),
    work: () => call<ScheduleWork>("GET", "/_work"),
    claim: (id: string, at: number, claim: ClaimRun) => call<ScheduleRunView>("POST", `${one(id)}/runs/${at}/claim`, claim),
    report: (id: string, at: number, report: ReportRun) => call<ScheduleRunView>("POST", `${one(id)}/runs/${at}/report`, report),
  };
}
