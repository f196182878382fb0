// The `verge` CLI as a real process (`node_modules/.bin/verge`, as `npx verge` runs it) against
// the local stack listening on its own ports: every admin task, tables and --json, profiles,
// and errors in one line that name the fix.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertListSchema, auditPageSchema, deadLettersResponseSchema, deploymentViewSchema, metricsReportSchema, modelListSchema, scheduleListSchema, scheduleRunViewSchema, scheduleViewSchema, versionViewSchema } from "@verge/shared";
import { demoArtifacts, demoMetadata, seedDemo } from "../../scripts/lib/demo.ts";
import { ROOT } from "../../scripts/lib/build.ts";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { ADMIN_TOKEN, CLIENT_KEY, eventually, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-cli-"));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  stack = await testStack({ ports: { gateway: await freePort(), controlPlane: port } });
  await seedDemo(stack.admin, CLIENT_KEY);
});
afterAll(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `verge ARGS` with the given environment (no profile file unless the test writes one). */
function verge(args: string[], env: Record<string, string | undefined> = { VERGE_URL: url, VERGE_TOKEN: ADMIN_TOKEN }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VERGE_")));
    const child = spawn(join(ROOT, "node_modules/.bin/verge"), args, { env: { ...clean, VERGE_CONFIG: join(dir, "config.json"), ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
const json = async (args: string[]) => {
  const r = await verge([...args, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};

describe("verge", () => {
  it("has help everywhere", async () => {
    const top = await verge(["--help"]);
    expect(top.code).toBe(0);
    for (const command of ["models", "versions", "aliases", "deployment", "promote", "rollback", "rollouts", "metrics", "drift", "experiment", "alerts", "keys", "tokens", "audit", "jobs", "materialize", "schedules"]) expect(top.stdout).toContain(command);
    const schedules = await verge(["schedules", "--help"]);
    for (const command of ["list", "put <id> <schedule.json>", "show <id>", "runs [options] <id>", "pause <id>", "resume <id>", "run <id>", "delete <id>"]) expect(schedules.stdout).toContain(command);
    const set = await verge(["deployment", "set", "--help"]);
    expect(set.stdout).toMatch(/--variant <name:target:weight>/);
    expect(set.stdout).toMatch(/--shadow/);
    expect(set.stdout).toMatch(/--fallback/);
  });

  it("lists models as a table, and as JSON that follows the contract", async () => {
    const table = await verge(["models", "list"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/name\s+│?\s*task/);
    expect(table.stdout).toMatch(/demo\s.*binary_classification/);
    expect(modelListSchema.shape.models.parse(await json(["models", "list"])).map((m) => m.name)).toContain("demo");
  });

  it("pushes a version from files, shows its lineage, and moves aliases with their history", async () => {
    expect((await verge(["models", "create", "churn", "--task", "binary_classification"])).code).toBe(0);
    const onnx = join(dir, "model.onnx");
    const meta = join(dir, "meta.json");
    writeFileSync(onnx, demoArtifacts().lr);
    writeFileSync(meta, JSON.stringify({ ...demoMetadata("lr"), lineage: { code_version: "abc123", training_data: "s3://bucket/churn.parquet", parent_job: "job-7" } }));
    for (const _ of [1, 2]) {
      const push = await verge(["versions", "push", "churn", onnx, "--metadata", meta]);
      expect(push.code, push.stderr).toBe(0);
      expect(push.stdout).toMatch(/registered churn version \d/);
    }
    const show = await verge(["versions", "show", "churn", "1"]);
    expect(show.stdout).toMatch(/code version\s+abc123/);
    expect(show.stdout).toMatch(/parent job\s+job-7/);
    expect(versionViewSchema.parse(await json(["versions", "show", "churn", "2"])).lineage.training_data).toBe("s3://bucket/churn.parquet");
    await verge(["aliases", "set", "churn", "production", "1"]);
    expect((await verge(["aliases", "set", "churn", "production", "2", "--reason", "better AUC"])).stdout).toContain("production → version 2 (was 1)");
    const history = await verge(["aliases", "history", "churn", "production"]);
    expect(history.stdout).toMatch(/set\s.*1\s.*2\s.*better AUC/);
  });

  it("sets weights, shadows and a fallback, promotes through a staged plan, cancels, promotes and rolls back", async () => {
    const set = await json(["deployment", "set", "churn", "--variant", "control:production:90%", "--variant", "treatment:1:1000", "--shadow", "2:5%", "--fallback", "control"]);
    const d = deploymentViewSchema.parse(set);
    expect(d.allocation).toEqual([[0, 9000, "control"], [9000, 10000, "treatment"]]);
    expect(d.shadows).toEqual([{ version: 2, rate: 500 }]);
    expect(d.fallback).toBe("control");
    expect((await verge(["deployment", "show", "churn"])).stdout).toMatch(/control\s.*alias production\s.*2\s.*90%/);

    const staged = await verge(["promote", "churn", "1", "--steps", "10%,50%,100%", "--interval", "60"]);
    expect(staged.stdout).toMatch(/rolling out version 1 of churn/);
    expect(staged.stdout).toMatch(/step\s+1 of 3: 10% of traffic/);
    expect((await verge(["rollouts", "status", "churn"])).stdout).toMatch(/guardrails: error rate ≤ 0.05/);
    expect((await verge(["rollouts", "cancel", "churn"])).stdout).toMatch(/cancelled/);

    await verge(["promote", "churn", "1", "--reason", "revert test"]);
    const back = await verge(["rollback", "churn", "--reason", "p99 regression"]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe("churn production rolled back to version 2 (was 1)\n");
    const audit = auditPageSchema.parse(await json(["audit", "--target", "models/churn/aliases", "--limit", "5"]));
    expect(audit.entries[0]).toMatchObject({ action: "alias.rollback", after: { version: 2, reason: "p99 regression" } });
  });

  it("reports metrics over time, drift, the experiment and alerts from real traffic", async () => {
    for (let i = 0; i < 40; i++) expect((await stack.predict("demo", { unit: `u${i}` })).status).toBe(200);
    const m = await eventually(async () => {
      const r = metricsReportSchema.parse(await json(["metrics", "demo", "--step", "minute"]));
      return r.total >= 40 ? r : undefined;
    });
    expect(m.timeseries!.reduce((s, p) => s + (p.shadow ? 0 : p.count), 0)).toBe(40);
    const text = await verge(["metrics", "demo"]);
    expect(text.stdout).toMatch(/demo: 40 predictions/);
    expect(text.stdout).toMatch(/error rate/);
    expect((await verge(["drift", "demo"])).code).toBe(0);
    const experiment = await verge(["experiment", "demo"]);
    expect(experiment.stdout).toMatch(/sample ratio: ok/);
    expect(experiment.stdout).toMatch(/error rate \[95%\]/);
    expect(alertListSchema.shape.alerts.parse(await json(["alerts", "list", "--status", "open"]))).toEqual([]);
  });

  it("creates and revokes keys and tokens; a viewer's token cannot roll back, and says so", async () => {
    const key = (await json(["keys", "create", "app", "--models", "demo,churn"])) as { id: string; key: string };
    expect((await verge(["keys", "list"])).stdout).toContain(key.id);
    expect((await verge(["keys", "list"])).stdout).not.toContain(key.key);
    expect((await verge(["keys", "revoke", key.id])).code).toBe(0);
    const viewer = (await json(["tokens", "create", "dash", "--role", "viewer"])) as { token: string };
    const refused = await verge(["rollback", "churn"], { VERGE_URL: url, VERGE_TOKEN: viewer.token });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toMatch(/^error: POST \/v1\/models\/churn\/rollback → 403 forbidden: .*operator.* — .*role/);
    expect((await verge(["whoami"], { VERGE_URL: url, VERGE_TOKEN: viewer.token })).stdout).toMatch(/\(viewer\)/);
  });

  it("manages schedules: put from a file, list, show, pause, resume, run now with its history, delete", async () => {
    // The example nightly schedule shipped with the project, as an operator would use it.
    const example = join(ROOT, "examples/churn-nightly-schedule.json");
    const put = await verge(["schedules", "put", "churn-nightly", example]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toMatch(/^schedule churn-nightly \(revision 1\): 0 2 \* \* \* Europe\/Paris, next run \d{4}-\d\d-\d\dT/);
    expect((await verge(["schedules", "list"])).stdout).toMatch(/churn-nightly\s.*train churn \(logreg\)\s.*0 2 \* \* \*\s.*Europe\/Paris\s.*\d{4}-/);
    expect(scheduleListSchema.shape.schedules.parse(await json(["schedules", "list"])).map((s) => s.id)).toEqual(["churn-nightly"]);
    expect(scheduleViewSchema.parse(await json(["schedules", "show", "churn-nightly"]))).toMatchObject({ id: "churn-nightly", paused: false, retry: { attempts: 3, backoff_s: 300, factor: 2, max_backoff_s: 3600 }, trigger: { kind: "files", path: "churn/labels.parquet" } });
    const shown = (await verge(["schedules", "show", "churn-nightly"])).stdout;
    expect(shown).toMatch(/trigger\s+new or changed files under churn\/labels\.parquet/);
    expect(shown).toMatch(/retry\s+3 attempts, 300 s backoff ×2/);

    expect((await verge(["schedules", "pause", "churn-nightly"])).stdout).toBe("schedule churn-nightly paused\n");
    expect((await verge(["schedules", "list"])).stdout).toMatch(/churn-nightly\s.*paused/);
    expect((await verge(["schedules", "resume", "churn-nightly"])).stdout).toMatch(/^schedule churn-nightly resumed, next run \d{4}-/);
    // No trainer runs in this stack: the requested run stays pending, in the history.
    const asked = scheduleRunViewSchema.parse(await json(["schedules", "run", "churn-nightly"]));
    expect(asked).toMatchObject({ schedule: "churn-nightly", reason: "manual", status: "pending" });
    const runs = (await verge(["schedules", "runs", "churn-nightly", "--limit", "5"])).stdout;
    expect(runs).toContain(asked.occurrence);
    expect(runs).toMatch(/manual\s.*pending/);
    const audit = auditPageSchema.parse(await json(["audit", "--target", "schedules/churn-nightly"]));
    expect(audit.entries.map((e) => e.action)).toEqual(["schedule.run", "schedule.resume", "schedule.pause", "schedule.create"]);

    expect((await verge(["schedules", "delete", "churn-nightly"])).stdout).toBe("schedule churn-nightly deleted\n");
    const gone = await verge(["schedules", "show", "churn-nightly"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toMatch(/^error: GET \/v1\/schedules\/churn-nightly → 404 not_found: .* — check the id \(`verge schedules list`\)$/);
    // A cron that does not read is refused before anything is sent, naming the file and field.
    const bad = join(dir, "bad-schedule.json");
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(example, "utf8")), cron: "61 * * * *" }));
    const refused = await verge(["schedules", "put", "broken", bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*bad-schedule\.json: cron: /);
    expect(scheduleListSchema.shape.schedules.parse(await json(["schedules", "list"]))).toEqual([]);
  });

  it("saves a profile with login and uses it when no flag or variable is given", async () => {
    const login = await verge(["login", "--url", url, "--token", ADMIN_TOKEN, "--profile", "local"], {});
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/as bootstrap-admin \(admin\)/);
    const file = join(dir, "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8")).profiles.local.url).toBe(url);
    expect((await verge(["models", "list", "--profile", "local"], {})).stdout).toContain("demo");
    expect((await verge(["models", "list"], { VERGE_PROFILE: "local" })).stdout).toContain("demo");
  });

  it("fails in one line that names the fix", async () => {
    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [["models", "list"], { VERGE_URL: "http://127.0.0.1:9", VERGE_TOKEN: "x" }, /^error: cannot reach the control plane at http:\/\/127\.0\.0\.1:9 — start it \(npm start\) or point --url or VERGE_URL at it$/],
      [["models", "list"], { VERGE_URL: url, VERGE_TOKEN: "wrong" }, /401 unauthorized: .* — the token is unknown or revoked: give a valid one with --token, VERGE_TOKEN or `verge login`$/],
      [["models", "list"], { VERGE_URL: url }, /401 unauthorized: .* — give a token with --token, VERGE_TOKEN or `verge login`$/],
      [["versions", "show", "nope", "1"], { VERGE_URL: url, VERGE_TOKEN: ADMIN_TOKEN }, /404 not_found: .* — check the name/],
      [["models", "create", "Bad Name!", "--task", "regression"], { VERGE_URL: url, VERGE_TOKEN: ADMIN_TOKEN }, /400 bad_request: body\.name: .* — fix the named field/],
      [["deployment", "set", "churn", "--variant", "a:1:40%"], { VERGE_URL: url, VERGE_TOKEN: ADMIN_TOKEN }, /^error: variants: weights must sum to 10000/],
    ];
    for (const [args, env, pattern] of cases) {
      const r = await verge(args, env);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr.trim(), args.join(" ")).toMatch(pattern);
    }
    const usage = await verge(["deployment", "set", "churn", "--variant", "oops"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--variant: "oops" is not NAME:VERSION_OR_ALIAS:WEIGHT/);
  });

  it("prints the records as served, and lists and re-drives dead letters", async () => {
    for (let i = 0; i < 3; i++) expect((await stack.predict("demo", { unit: `cli-${i}`, request_id: `cli-${i}` })).status).toBe(200);
    const lines = await eventually(async () => {
      const r = await verge(["logs", "demo", "--limit", "10000"]);
      expect(r.code, r.stderr).toBe(0);
      const ids = r.stdout.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { request_id: string }).request_id);
      return ["cli-0", "cli-1", "cli-2"].every((id) => ids.includes(id)) ? ids : undefined;
    });
    expect(lines.filter((id) => id.startsWith("cli-")).sort()).toEqual(["cli-0", "cli-1", "cli-2"]);
    const limited = await verge(["logs", "demo", "--limit", "1"]);
    expect(limited.stdout.trim().split("\n")).toHaveLength(1);
    expect(limited.stderr).toMatch(/^more: --cursor \S+/);

    // A feedback message that does not parse is a dead letter at once.
    await (await stack.mf.getQueueProducer<unknown>("FEEDBACK", "verge-gateway")).send({ request_id: "x", label: "yes" });
    const listed = await eventually(async () => {
      const r = deadLettersResponseSchema.parse(await json(["dead-letters", "list", "--queue", "feedback"]));
      return r.dead_letters.length ? r : undefined;
    });
    const id = listed.dead_letters[0]!.id;
    expect((await verge(["dead-letters", "list"])).stdout).toContain(id);
    expect((await verge(["dead-letters", "show", id])).stdout).toContain('"label":"yes"');
    const redriven = await verge(["dead-letters", "redrive", id]);
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(redriven.stdout).toMatch(/^re-drove 1 message\(s\) of [0-9a-f]{32} to feedback/);
  });
});
