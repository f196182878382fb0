// A schedule that retrains when labels land: its `labelled_logs` trigger counts the model's
// labelled predictions in the log lake through the control plane's logs API (the trainer's
// default source), in real time on a seconds-level cron. Occurrences are skipped while no new
// labels have landed, a run trains on the served logs once enough have, and labels dated before
// that run (however late they arrive) do not make the next occurrence run again.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScheduleRunView } from "@verge/shared";
import { DEMO_FEATURE_SPEC, seedDemo } from "../scripts/lib/demo.ts";
import { freePort } from "../scripts/lib/redis-server.ts";
import { trainerServices, type TrainerServices } from "../trainer/src/api.ts";
import { loadConfig } from "../trainer/src/config.ts";
import { ADMIN_TOKEN, CLIENT_KEY, eventually, lakeRecords, testStack, type TestStack } from "./helpers.ts";

const MIN_NEW = 40;
let stack: TestStack;
let services: TrainerServices;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-labelled-logs-"));
  const cpPort = await freePort();
  stack = await testStack({ ports: { gateway: await freePort(), controlPlane: cpPort } });
  await seedDemo(stack.admin, CLIENT_KEY);
  const config = loadConfig({
    VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${cpPort}`,
    VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN,
    VERGE_ORIGIN_SECRET: "origin-secret-0123456789abcdef",
    VERGE_OFFLINE_ROOT: join(dir, "offline"),
    VERGE_TRAINER_STATE: join(dir, "state"),
    VERGE_SCHEDULE_TICK_MS: "200",
    VERGE_SCHEDULE_LEASE_MS: "5000",
  });
  // No labelled-logs source given: the trainer's own, over the control plane's logs API.
  services = await trainerServices(config);
});
afterAll(async () => {
  await services?.close();
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const runsOf = async () => (await stack.admin.api.scheduleRuns({ params: { id: "demo-relabel" }, query: { limit: 500 } })).runs;
/** The first run of an occurrence after `after` (epoch ms) that is over and matches `status`. */
/** A run skipped because the one before was still open (a slow run on a loaded machine) says nothing about the trigger. */
const overlapped = (r: ScheduleRunView) => r.status === "skipped" && /previous run of this schedule was still open/.test(JSON.stringify(r.result));
const runAfter = (after: number, statuses: ScheduleRunView["status"][]) =>
  eventually(async () => (await runsOf()).filter((r) => Date.parse(r.occurrence) > after && statuses.includes(r.status) && !overlapped(r)).sort((a, b) => Date.parse(a.occurrence) - Date.parse(b.occurrence))[0], 90_000, 250);

/** Serves `n` predictions of demo and labels each, the label dated `labelTs` when given. */
async function serveAndLabel(prefix: string, n: number, labelTs?: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, k) => {
      const res = await stack.predict("demo", { unit: `${prefix}-${k}`, request_id: `${prefix}-${k}`, features: { tenure_months: (k * 7) % 36, sessions_7d: k % 9, plan: k % 2 ? "pro" : "free" } });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }),
  );
  const items = Array.from({ length: n }, (_, k) => ({ request_id: `${prefix}-${k}`, label: (k * 7) % 36 < 12 ? 1 : 0, ...(labelTs === undefined ? {} : { ts: labelTs }) }));
  const res = await stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" }, body: JSON.stringify({ items }) });
  expect(res.status).toBe(202);
}

/** Waits until the log lake holds `n` labelled predictions of demo, labels joined. */
const labelledInLake = (n: number) => eventually(async () => ((await lakeRecords(stack, "demo", { from: Date.now() - 3_600_000, to: Date.now() + 60_000, labels: "only" })).length >= n ? true : undefined), 60_000, 250);

describe("a schedule with a labelled_logs trigger", () => {
  it("skips while no new labels land, trains on the served logs once enough have, and skips again after", { timeout: 300_000 }, async () => {
    const put = await stack.admin.api.putSchedule({
      params: { id: "demo-relabel" },
      body: {
        cron: "*/2 * * * * *",
        timezone: "UTC",
        // Each run trains on the day of served logs before it (its log range is set per run).
        task: {
          kind: "train",
          lookback_days: 1,
          job: { model: "demo", algorithm: "logreg", dataset: { logs: { from: 1, to: 2 } }, feature_spec: DEMO_FEATURE_SPEC, validation: { min_rows: 20, max_psi: 100 } },
        },
        trigger: { kind: "labelled_logs", model: "demo", min_new: MIN_NEW },
        retry: { attempts: 1, backoff_s: 1 },
      },
    });
    expect(put.revision).toBe(1);

    // Nothing labelled yet: skipped, saying how many were counted and how many it needs.
    const quiet = await runAfter(0, ["skipped", "succeeded", "failed"]);
    expect(quiet.status, JSON.stringify(quiet)).toBe("skipped");
    expect((quiet.result as { skipped: string }).skipped).toMatch(new RegExp(`^0 labelled predictions of demo since .* \\(needs ${MIN_NEW}\\)$`));

    // Paused (and no run left open) while labels land for 60 served predictions, so no occurrence
    // sees only some of them; resumed once all are in the lake, the next occurrence trains on them.
    await stack.admin.api.pauseSchedule({ params: { id: "demo-relabel" } });
    await eventually(async () => ((await runsOf()).every((r) => ["succeeded", "failed", "skipped"].includes(r.status)) ? true : undefined));
    await serveAndLabel("a", 60);
    await labelledInLake(60);
    const landed = Date.now();
    await stack.admin.api.resumeSchedule({ params: { id: "demo-relabel" } });
    const trained = await runAfter(landed, ["succeeded", "failed"]);
    expect(trained.status, JSON.stringify(trained)).toBe("succeeded");
    const result = trained.result as { job: string; version: number; metrics: { train_rows: number; holdout_rows: number } };
    expect(result.metrics.train_rows + result.metrics.holdout_rows).toBe(60);
    const version = await stack.admin.api.getVersion({ params: { model: "demo", version: result.version } });
    expect(version.lineage).toMatchObject({ parent_job: result.job, training_data: expect.stringMatching(/^logs:demo from=.* \(60 labelled predictions\)$/) });
    const since = Number((await stack.admin.api.getSchedule({ params: { id: "demo-relabel" } })).last_success_fingerprint);
    expect(since).toBeGreaterThanOrEqual(landed);

    // Labels that arrive now but are dated before that run are not new to it: still skipped.
    await serveAndLabel("b", 60, since - 1000);
    await labelledInLake(120);
    const after = await runAfter(Date.now(), ["skipped", "succeeded", "failed"]);
    expect(after.status, JSON.stringify(after)).toBe("skipped");
    expect((after.result as { skipped: string }).skipped).toMatch(new RegExp(`^0 labelled predictions of demo since ${new Date(since).toISOString()}`));
  });
});
