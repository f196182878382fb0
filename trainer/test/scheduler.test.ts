// Trainer schedulers against the real control plane (workerd, D1) in real time, on seconds-level
// cron: two replicas that share no disk never run an occurrence twice; a replica that dies mid-run
// is replaced by another once its lease expires, and the occurrence is neither lost nor doubled;
// failures are retried after their backoff; a files trigger skips occurrences with no new data.
// Tasks here record what ran (the coordination is what is under test); test/schedules.test.ts runs
// the real training pipeline on a schedule.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ScheduleRunView } from "@verge/shared";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { ADMIN_TOKEN, eventually, testStack, type TestStack } from "../../test/helpers.ts";
import { scheduleClient } from "../src/schedules/client.ts";
import { Scheduler, type RunContext, type SchedulerDeps } from "../src/schedules/scheduler.ts";
import { evaluateTrigger } from "../src/schedules/triggers.ts";

let stack: TestStack;
let client: ReturnType<typeof scheduleClient>;
let dir: string;
const schedulers: Scheduler[] = [];

beforeAll(async () => {
  const cpPort = await freePort();
  stack = await testStack({ ports: { gateway: await freePort(), controlPlane: cpPort } });
  client = scheduleClient({ VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${cpPort}`, VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN });
  dir = mkdtempSync(join(tmpdir(), "verge-scheduler-"));
});
// Every replica runs every schedule, as in production: each test stops its replicas.
afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface Execution {
  replica: string;
  schedule: string;
  occurrence: string;
  attempt: number;
}
const executions: Execution[] = [];

function replica(name: string, execute: (ctx: RunContext) => Promise<unknown>, over: Partial<SchedulerDeps> = {}): Scheduler {
  const s = new Scheduler({
    client,
    runner: `${name}#${Math.random().toString(36).slice(2, 8)}`,
    leaseMs: 1500,
    tickMs: 100,
    execute: async (ctx) => {
      executions.push({ replica: name, schedule: ctx.schedule.id, occurrence: ctx.run.occurrence, attempt: ctx.attempt });
      return execute(ctx);
    },
    evaluateTrigger: (trigger, last) => evaluateTrigger(trigger, last, { offline: { root: join(dir, "offline") } }),
    log: () => undefined,
    ...over,
  });
  schedulers.push(s);
  s.start();
  return s;
}

const task = { kind: "materialize", request: { views: [{ name: "v", path: "t.parquet", entity: "id" }] } };
const put = (id: string, body: Record<string, unknown>) => client.put(id, { timezone: "UTC", task, ...body });
const runs = async (id: string) => (await client.runs(id, 500)).runs;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("scheduled runs across replicas", () => {
  it("runs each occurrence of a seconds-level cron exactly once with two replicas", async () => {
    const work = () => sleep(200).then(() => ({ ok: true }));
    // Each replica acts on a view of the work that is 150 ms old, more than a tick: both see every
    // occurrence as unclaimed and race for it, so the claim alone keeps it to one.
    const claims = new Map<string, number>();
    const racing = {
      work: async () => {
        const w = await client.work();
        await sleep(150);
        return w;
      },
      claim: (id: string, at: number, claim: Parameters<typeof client.claim>[2]) => {
        if (id === "twice") claims.set(String(at), (claims.get(String(at)) ?? 0) + 1);
        return client.claim(id, at, claim);
      },
      report: client.report,
    };
    const a = replica("a", work, { client: racing });
    const b = replica("b", work, { client: racing });
    await put("twice", { cron: "*/2 * * * * *" });
    const done = await eventually(async () => {
      const r = (await runs("twice")).filter((x) => x.status === "succeeded");
      return r.length >= 4 ? r : undefined;
    }, 40_000, 200);
    await client.pause("twice");
    await Promise.all([a.close(), b.close()]);

    const mine = executions.filter((e) => e.schedule === "twice");
    const perOccurrence = new Map<string, number>();
    for (const e of mine) perOccurrence.set(e.occurrence, (perOccurrence.get(e.occurrence) ?? 0) + 1);
    expect([...perOccurrence.values()].every((n) => n === 1)).toBe(true);
    // Every occurrence the control plane recorded as run was run, by one replica, on a cron time.
    // The replicas did race: most occurrences were claimed more than once.
    expect(done.filter((r) => (claims.get(String(Date.parse(r.occurrence))) ?? 0) >= 2).length).toBeGreaterThanOrEqual(done.length / 2);
    for (const r of done) {
      expect(perOccurrence.get(r.occurrence)).toBe(1);
      expect(Date.parse(r.occurrence) % 2000).toBe(0);
      expect(r.attempts).toHaveLength(1);
    }
  }, 120_000);

  it("hands a run to another replica when its runner dies mid-run: the occurrence runs once to completion", async () => {
    let release: () => void = () => {};
    const blocked = new Promise<void>((r) => (release = r));
    // The first replica hangs in its run and then "crashes": no report, no more heartbeats.
    const doomed = replica("doomed", () => blocked);
    await put("takeover", { cron: "*/4 * * * * *", retry: { attempts: 3, backoff_s: 0.2 } });
    const first = await eventually(async () => executions.find((e) => e.schedule === "takeover"), 40_000, 100);
    doomed.abandon();
    release();
    // A replica started afterwards (the restarted trainer, under a new runner name) takes over
    // once the lease has expired.
    replica("rescuer", () => sleep(100).then(() => ({ rescued: true })));
    const run = await eventually(async () => (await runs("takeover")).find((r) => r.occurrence === first.occurrence && r.status === "succeeded"), 20_000, 200);
    expect(run.attempt).toBe(2);
    expect(run.attempts.map((a) => a.runner.split("#")[0])).toEqual(["doomed", "rescuer"]);
    expect(run.attempts[0]!.error).toMatch(/lease expired/);
    expect(run.result).toEqual({ rescued: true });
    const attempts = executions.filter((e) => e.schedule === "takeover" && e.occurrence === first.occurrence);
    expect(attempts.map((e) => [e.replica, e.attempt])).toEqual([
      ["doomed", 1],
      ["rescuer", 2],
    ]);
    await client.pause("takeover");
  }, 120_000);

  it("retries a failed run after its backoff and records every attempt", async () => {
    let calls = 0;
    replica("flaky", async (ctx) => {
      calls++;
      if (ctx.attempt < 3) throw new Error(`warehouse busy (attempt ${ctx.attempt})`);
      return { ok: ctx.attempt };
    });
    await put("flaky", { cron: "0 0 1 1 *", retry: { attempts: 3, backoff_s: 0.3, factor: 2 } });
    const asked = await client.runNow("flaky");
    const run = await eventually(async () => (await runs("flaky")).find((r) => r.occurrence === asked.occurrence && r.status === "succeeded"), 20_000, 100);
    expect(run).toMatchObject({ reason: "manual", attempt: 3, result: { ok: 3 } });
    expect(run.attempts.map((a) => a.error)).toEqual(["warehouse busy (attempt 1)", "warehouse busy (attempt 2)", undefined]);
    // The second wait is twice the first: 0.3 s, then 0.6 s.
    const gap = (i: number) => Date.parse(run.attempts[i + 1]!.started_at) - Date.parse(run.attempts[i]!.finished_at!);
    expect(gap(0)).toBeGreaterThanOrEqual(300);
    expect(gap(1)).toBeGreaterThanOrEqual(600);
    expect(calls).toBe(3);
  }, 120_000);

  it("gives up after the last attempt with the last error", async () => {
    replica("broken", async () => {
      throw new Error("no such table");
    });
    await put("broken", { cron: "0 0 1 1 *", retry: { attempts: 2, backoff_s: 0.1 } });
    const asked = await client.runNow("broken");
    const run = await eventually(async () => (await runs("broken")).find((r) => r.occurrence === asked.occurrence && r.status === "failed"), 20_000, 100);
    expect(run).toMatchObject({ attempt: 2, error: "no such table" });
  }, 120_000);
});

describe("data-triggered runs", () => {
  it("skips cron occurrences when no file under the path changed, and runs when a new partition lands", async () => {
    const partition = (day: string) => {
      mkdirSync(join(dir, "offline/events", `day=${day}`), { recursive: true });
      writeFileSync(join(dir, "offline/events", `day=${day}`, "part-0.csv"), `id,value\n1,${day}\n`);
    };
    partition("1");
    replica("data", () => sleep(50).then(() => ({ trained: true })));
    await put("on-data", { cron: "*/2 * * * * *", trigger: { kind: "files", path: "events/*/*.csv" } });
    // The first occurrence sees data it has never run on: it runs. Later ones see nothing new.
    const history = await eventually(async () => {
      const r = (await runs("on-data")).reverse();
      return r.filter((x) => x.status === "skipped").length >= 2 ? r : undefined;
    }, 30_000, 200);
    expect(history[0]).toMatchObject({ status: "succeeded", result: { trained: true } });
    const skipped = history.filter((x) => x.status === "skipped");
    expect((skipped[0]!.result as { skipped: string }).skipped).toMatch(/no new or changed file under events\/\*\/\*\.csv since the last successful run \(1 files\)/);
    // A new partition: the next occurrence runs.
    partition("2");
    const ran = await eventually(async () => {
      const r = (await runs("on-data")).filter((x) => x.status === "succeeded");
      return r.length >= 2 ? r : undefined;
    }, 30_000, 200);
    expect(ran[0]!.fingerprint).not.toBe(ran[1]!.fingerprint);
    // "Run now" runs even with nothing new.
    const asked = await client.runNow("on-data");
    await eventually(async () => (await runs("on-data")).find((r) => r.occurrence === asked.occurrence && r.status === "succeeded"), 20_000, 100);
    await client.pause("on-data");
  }, 120_000);
});
