// Schedules in the control plane (workerd, D1): validation, the claim that keeps an occurrence to
// one trainer, retries with backoff, lease takeover, run now, pause and resume, audit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScheduleRunView, ScheduleView } from "@verge/shared";
import { churnJob } from "../../scripts/lib/demo-data.ts";
import { ADMIN_TOKEN, errorOf, eventually, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
});
afterAll(() => stack?.dispose());

const task = { kind: "materialize", request: { views: [{ name: "user_stats", path: "churn/user_stats.parquet", entity: "user_id" }] } };
const schedule = (over: Record<string, unknown> = {}) => ({ cron: "0 2 * * *", timezone: "Europe/Paris", task, retry: { attempts: 2, backoff_s: 0.5 }, ...over });
const call = (method: string, path: string, body?: unknown) => stack.admin.raw(method, path, body);
const claim = (id: string, at: number, runner: string, seen = 0, lease_ms = 60_000) => call("POST", `/v1/schedules/${id}/runs/${at}/claim`, { runner, lease_ms, seen_attempt: seen });
const report = (id: string, at: number, body: Record<string, unknown>) => call("POST", `/v1/schedules/${id}/runs/${at}/report`, body);
const runs = async (id: string) => (await stack.admin.ok("GET", `/v1/schedules/${id}/runs`)).runs;
const count = async (table: string) => (await (await stack.mf.getD1Database("DB", "verge-control-plane")).prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

describe("schedule validation", () => {
  it("refuses a bad cron, time zone, task or trigger with a 400 naming the field, storing nothing", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ cron: "61 * * * *" }, /^body\.cron: .*minute/],
      [{ cron: "* * *" }, /^body\.cron: /],
      [{ timezone: "Mars/Base" }, /^body\.timezone: must be an IANA time zone/],
      [{ task: { kind: "train", job: {} } }, /^body\.task\.job\./],
      [{ task: { kind: "nap" } }, /^body\.task\.kind/],
      [{ trigger: { kind: "files", path: "../etc/passwd.csv" } }, /^body\.trigger\.path: must stay inside the offline store/],
      [{ retry: { attempts: 0 } }, /^body\.retry\.attempts/],
    ];
    for (const [over, message] of cases) {
      const res = await call("PUT", "/v1/schedules/bad", schedule(over));
      expect(res.status, JSON.stringify(over)).toBe(400);
      expect((res.body as { error: { message: string } }).error.message).toMatch(message);
    }
    expect((await call("PUT", "/v1/schedules/Not_Lower", schedule())).status).toBe(400);
    expect(await count("schedules")).toBe(0);
  });

  it("takes a schedule that runs a command job from an admin only, and shows its arguments to operators only", async () => {
    const operator = (await stack.admin.ok("POST", "/v1/tokens", { name: "sched-operator", role: "operator" })).token;
    const job = churnJob({ algorithm: "command", command: { argv: ["/usr/bin/python3", "train.py"] } });
    const body = schedule({ task: { kind: "train", job } });
    const res = await stack.controlPlane("/v1/schedules/cmd", { method: "PUT", headers: { authorization: `Bearer ${operator}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).message).toMatch(/command.*admin role/);
    expect(await count("schedules")).toBe(0);
    expect((await call("PUT", "/v1/schedules/cmd", { ...body, task: { kind: "train", job: { ...job, command: { argv: ["/usr/bin/python3", "train.py", "--db", "postgres://u:pw@db/x"], env: { DB_PASSWORD: "pw-123" } } } } })).status).toBe(201);

    // A viewer sees which program runs, not its arguments or environment, in schedules and audit;
    // operators (who run it, through the trainer) see all of it.
    const viewer = (await stack.admin.ok("POST", "/v1/tokens", { name: "sched-viewer", role: "viewer" })).token;
    const read = async (token: string, path: string) => (await stack.controlPlane(path, { headers: { authorization: `Bearer ${token}` } })).text();
    for (const path of ["/v1/schedules/cmd", "/v1/schedules", "/v1/audit?target=schedules/cmd"]) {
      const seen = await read(viewer, path);
      expect(seen, path).toContain("/usr/bin/python3");
      expect(seen, path).toContain("[3 arguments hidden]");
      expect(seen, path).not.toMatch(/train\.py|postgres:|pw-123/);
      expect(await read(operator, path), path).toMatch(/postgres:\/\/u:pw@db\/x[\s\S]*pw-123|pw-123[\s\S]*postgres:\/\/u:pw@db\/x/);
    }
    expect((await call("DELETE", "/v1/schedules/cmd")).status).toBe(204);
  });

  it("creates, reads (next run in its time zone), replaces, and audits", async () => {
    const created = await call("PUT", "/v1/schedules/nightly", schedule());
    expect(created.status).toBe(201);
    const view = created.body as ScheduleView;
    expect(view).toMatchObject({ id: "nightly", cron: "0 2 * * *", timezone: "Europe/Paris", paused: false, revision: 1, last_occurrence: null });
    // 02:00 in Paris is 01:00 or 00:00 UTC depending on the season.
    expect(new Date(view.next_run_at!).getUTCHours()).toBeLessThanOrEqual(1);
    const replaced = await call("PUT", "/v1/schedules/nightly", schedule({ description: "retrain" }));
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ revision: 2, description: "retrain" });
    const audit = await stack.admin.ok("GET", "/v1/audit?target=schedules/nightly");
    expect(audit.entries.map((e) => e.action)).toEqual(["schedule.update", "schedule.create"]);
  });
});

describe("claims", () => {
  it("lets exactly one of many concurrent claims win a cron occurrence", async () => {
    await stack.admin.ok("PUT", "/v1/schedules/every-3s", schedule({ cron: "*/3 * * * * *", timezone: "UTC" }));
    // Wait for the schedule's first cron time after its creation, then race for it.
    const s = await eventually(async () => {
      const v = await stack.admin.ok("GET", "/v1/schedules/every-3s");
      return Date.parse(v.next_run_at!) - Date.now() > 1500 && Date.now() - Date.parse(v.active_since) > 3000 ? v : undefined;
    }, 20_000, 100);
    const at = Date.parse(s.next_run_at!) - 3000;
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => claim("every-3s", at, `trainer-${i}`)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    const [run] = await runs("every-3s");
    expect(run).toMatchObject({ occurrence: new Date(at).toISOString(), reason: "cron", status: "running", attempt: 1 });
    // A time that is not the current occurrence is refused.
    expect((await claim("every-3s", at - 3000, "late")).status).toBe(409);
    expect((await claim("every-3s", at + 1, "odd")).status).toBe(409);
  });

  it("retries after the backoff, then records success; the lease is the runner's alone", async () => {
    const run = (await call("POST", "/v1/schedules/nightly/run")).body as ScheduleRunView;
    expect(run).toMatchObject({ reason: "manual", status: "pending", attempt: 0 });
    const at = Date.parse(run.occurrence);
    expect((await claim("nightly", at, "a")).status).toBe(201);
    expect((await claim("nightly", at, "b")).status).toBe(409);
    expect((await report("nightly", at, { status: "running", runner: "b", attempt: 1, lease_ms: 1000 })).status).toBe(409);
    const failed = (await report("nightly", at, { status: "failed", runner: "a", attempt: 1, error: "disk full" })).body as ScheduleRunView;
    expect(failed).toMatchObject({ status: "retry_wait", error: "disk full" });
    expect(Date.parse(failed.next_attempt_at!) - Date.now()).toBeLessThanOrEqual(500);
    // Not before the backoff is over.
    const early = await claim("nightly", at, "b", 1);
    if (early.status === 201) throw new Error("claimed a retry before its backoff ended");
    const second = await eventually(async () => {
      const r = await claim("nightly", at, "b", 1);
      return r.status === 201 ? (r.body as ScheduleRunView) : undefined;
    }, 10_000, 100);
    expect(second).toMatchObject({ status: "running", attempt: 2, runner: "b" });
    const done = (await report("nightly", at, { status: "succeeded", runner: "b", attempt: 2, result: { written: 3 }, fingerprint: "abc" })).body as ScheduleRunView;
    expect(done).toMatchObject({ status: "succeeded", result: { written: 3 }, attempt: 2 });
    expect(done.attempts.map((a) => [a.attempt, a.runner, a.error])).toEqual([
      [1, "a", "disk full"],
      [2, "b", undefined],
    ]);
    expect((await stack.admin.ok("GET", "/v1/schedules/nightly")).last_success_fingerprint).toBe("abc");
    // A finished run cannot be reported on again.
    expect((await report("nightly", at, { status: "failed", runner: "b", attempt: 2, error: "late" })).status).toBe(409);
  });

  it("hands a run whose runner stopped renewing its lease to another trainer, and fails it after the last attempt", async () => {
    const at = Date.parse(((await call("POST", "/v1/schedules/nightly/run")).body as ScheduleRunView).occurrence);
    expect((await claim("nightly", at, "crashed", 0, 500)).status).toBe(201);
    const taken = await eventually(async () => {
      const r = await claim("nightly", at, "rescuer", 1, 500);
      return r.status === 201 ? (r.body as ScheduleRunView) : undefined;
    }, 10_000, 100);
    expect(taken).toMatchObject({ attempt: 2, runner: "rescuer" });
    expect(taken.attempts[0]!.error).toMatch(/lease expired: runner crashed stopped reporting/);
    // The crashed runner comes back and reports: refused, the run is not its own any more.
    expect((await report("nightly", at, { status: "succeeded", runner: "crashed", attempt: 1 })).status).toBe(409);
    // The rescuer dies too, on the last attempt (2 of 2): the occurrence fails.
    const last = await eventually(async () => {
      const r = await claim("nightly", at, "third", 2, 500);
      return r.status === 409 && /failed/.test((r.body as { error: { message: string } }).error.message) ? r : undefined;
    }, 10_000, 100);
    expect(last.status).toBe(409);
    expect((await runs("nightly")).find((r) => r.occurrence === new Date(at).toISOString())).toMatchObject({ status: "failed", error: "lease expired on attempt 2 of 2" });
  });
});

describe("pause and resume", () => {
  it("stops cron claims while paused, resumes from now, and says so in the audit log", async () => {
    const paused = (await call("POST", "/v1/schedules/every-3s/pause")).body as ScheduleView;
    expect(paused).toMatchObject({ paused: true, next_run_at: null });
    expect((await call("POST", "/v1/schedules/every-3s/pause")).status).toBe(409);
    const v = await eventually(async () => {
      const s = await stack.admin.ok("GET", "/v1/schedules/every-3s");
      return Date.now() - Date.parse(s.last_occurrence!) > 3500 ? s : undefined;
    }, 10_000, 200);
    const current = Math.floor(Date.now() / 3000) * 3000;
    expect((await claim("every-3s", current, "x")).status).toBe(409);
    const resumed = (await call("POST", "/v1/schedules/every-3s/resume")).body as ScheduleView;
    expect(resumed.paused).toBe(false);
    expect(Date.parse(resumed.active_since)).toBeGreaterThan(Date.parse(v.updated_at));
    const audit = await stack.admin.ok("GET", "/v1/audit?target=schedules/every-3s");
    expect(audit.entries.map((e) => e.action).slice(0, 2)).toEqual(["schedule.resume", "schedule.pause"]);
  });

  it("deletes a schedule with its history; unknown ones are 404", async () => {
    expect((await call("DELETE", "/v1/schedules/every-3s")).status).toBe(204);
    expect((await call("GET", "/v1/schedules/every-3s")).status).toBe(404);
    expect(await errorOf(await stack.controlPlane("/v1/schedules/every-3s/runs", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }))).toMatchObject({ code: "not_found" });
  });
});
