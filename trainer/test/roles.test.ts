// The trainer's trust boundary against a real control plane (workerd, D1): its API takes the
// control plane's tokens with their roles, driven by the trainer's route catalog (the one table
// its routes are guarded and documented with); `command` jobs need admin and an allowlisted
// executable; and arbitrary requests never give a 5xx or change anything when refused.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, type Role } from "@verge/shared";
import { trainerApi as catalog } from "@verge/shared/api/trainer";
import { kvStore, type KvNamespaceLike } from "@verge/shared/online-store/kv";
import { WORKERS } from "../../scripts/lib/build.ts";
import { churnJob, writeChurnData } from "../../scripts/lib/demo-data.ts";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { eventually, testStack, type TestStack } from "../../test/helpers.ts";
import { trainerApi, trainerServices, type TrainerServices } from "../src/api.ts";
import { loadConfig, type Config } from "../src/config.ts";
import { controlPlaneAuth } from "../src/http/auth.ts";
import { buildOrigin } from "../src/server.ts";

const TRAINER_TOKEN = "trainer-token-0123456789abcdef";
const NODE = process.execPath;
let stack: TestStack;
let dir: string;
let cpUrl: string;
let config: Config;
let services: TrainerServices;
let app: ReturnType<typeof buildOrigin>["app"];
const tokens = {} as Record<Role, string>;

beforeAll(async () => {
  const cpPort = await freePort();
  cpUrl = `http://127.0.0.1:${cpPort}`;
  stack = await testStack({ ports: { gateway: await freePort(), controlPlane: cpPort } });
  dir = mkdtempSync(join(tmpdir(), "verge-trainer-roles-"));
  await writeChurnData(join(dir, "offline"), { users: 300, events: 3000 });
  for (const role of ROLES) tokens[role] = (await stack.admin.ok("POST", "/v1/tokens", { name: `${role} bot`, role })).token;
  config = loadConfig({
    VERGE_CONTROL_PLANE_URL: cpUrl,
    VERGE_CONTROL_PLANE_TOKEN: tokens.operator,
    VERGE_ORIGIN_SECRET: "origin-secret-0123456789abcdef",
    VERGE_TRAINER_TOKEN: TRAINER_TOKEN,
    VERGE_OFFLINE_ROOT: join(dir, "offline"),
    VERGE_TRAINER_STATE: join(dir, "state"),
    VERGE_SCHEDULES: "off",
    VERGE_COMMAND_ALLOWLIST: NODE,
    // A webhook an admin registered for this trainer (playbooks need one).
    VERGE_ALERT_WEBHOOK_ID: "1",
    VERGE_ALERT_WEBHOOK_SECRET: "webhook-secret-0123456789abcdef",
  });
  const features = await stack.mf.getKVNamespace("FEATURES", WORKERS.gateway.name);
  services = await trainerServices(config, { onlineStore: kvStore(features as unknown as KvNamespaceLike) });
  app = buildOrigin(config, { extraRoutes: [{ path: "/", app: trainerApi(services) }] }).app;
});
afterAll(async () => {
  await services?.close();
  await stack?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const call = (method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.request(path, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers }, ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
const concrete = (path: string, segment = "x") => path.replace(/\{\w+\}/g, encodeURIComponent(segment));
const guarded = Object.values(catalog).filter((e): e is typeof e & { access: Role } => (ROLES as readonly string[]).includes(e.access));
const errorShape = async (res: Response) => {
  const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
  expect(typeof body.error?.code, JSON.stringify(body)).toBe("string");
  expect(typeof body.error?.message, JSON.stringify(body)).toBe("string");
  return body.error as { code: string; message: string };
};

describe("the route catalog", () => {
  it("is exactly what is served, each route documented and guarded with the catalog's access", async () => {
    const served = new Set(app.routes.filter((r) => r.method !== "ALL" && !["/openapi.json", "/docs"].includes(r.path)).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`));
    expect([...served].sort()).toEqual(Object.values(catalog).map((e) => `${e.method.toUpperCase()} ${e.path}`).sort());
    const doc = (await (await app.request("/openapi.json")).json()) as { paths: Record<string, Record<string, { operationId: string; "x-verge-access": string }>> };
    for (const [id, e] of Object.entries(catalog)) expect(doc.paths[e.path]?.[e.method], id).toMatchObject({ operationId: id, "x-verge-access": e.access });
    expect(guarded.length).toBe(18);
  });
});

describe("roles", () => {
  it("every guarded route: 401 without or with an unknown token, 403 below its role, served at its role", async () => {
    expect(guarded.length).toBe(18);
    for (const e of guarded) {
      const method = e.method.toUpperCase();
      const path = concrete(e.path);
      const body = e.method === "get" || e.method === "delete" ? undefined : {};
      expect((await call(method, path, undefined, body)).status, `anonymous ${method} ${e.path}`).toBe(401);
      expect((await call(method, path, "not-a-token-0123456789", body)).status, `unknown ${method} ${e.path}`).toBe(401);
      for (const role of ROLES.slice(0, ROLES.indexOf(e.access))) {
        const res = await call(method, path, tokens[role], body);
        expect(res.status, `${role} ${method} ${e.path}`).toBe(403);
        expect((await errorShape(res)).message).toContain(`needs the ${e.access} role`);
      }
      for (const token of [tokens[e.access], ...((e.access as Role) === "admin" ? [] : [TRAINER_TOKEN])]) {
        const res = await call(method, path, token, body);
        expect([401, 403], `${e.access} ${method} ${e.path}: ${res.status}`).not.toContain(res.status);
        expect(res.status, `${e.access} ${method} ${e.path}`).toBeLessThan(500);
      }
    }
    // The gateway's token is the control plane's, but not an admin-API token.
    expect((await call("GET", "/v1/jobs", (await import("../../test/helpers.ts")).GATEWAY_TOKEN)).status).toBe(401);
  });

  it("remembers the control plane's answer briefly: one whoami per token, a revoked one refused once it lapses", async () => {
    let asked = 0;
    const counting: typeof fetch = (input, init) => {
      asked++;
      return fetch(input, init);
    };
    const t = await stack.admin.ok("POST", "/v1/tokens", { name: "short-lived", role: "viewer" });
    const cached = controlPlaneAuth({ ...config, VERGE_AUTH_CACHE_MS: 30_000 }, counting);
    const uncached = controlPlaneAuth({ ...config, VERGE_AUTH_CACHE_MS: 0 }, counting);
    for (let i = 0; i < 5; i++) expect(await cached(t.token)).toMatchObject({ role: "viewer" });
    expect(asked).toBe(1);
    await stack.admin.ok("DELETE", `/v1/tokens/${t.id}`);
    expect(await cached(t.token)).toMatchObject({ role: "viewer" });
    expect(await uncached(t.token)).toBeUndefined();
    // The local token never asks the control plane.
    expect(await cached(TRAINER_TOKEN)).toEqual({ actor: "trainer-token", role: "operator" });
    expect(asked).toBe(2);
    // Bounded: past its size the oldest answer goes, and that token is asked about again.
    asked = 0;
    const small = controlPlaneAuth(config, counting, 2);
    for (const token of [tokens.viewer, tokens.operator, tokens.viewer, tokens.admin, tokens.operator, tokens.viewer]) await small(token);
    // viewer, operator (cached), viewer (hit), admin (evicts viewer), operator (hit), viewer (asked again).
    expect(asked).toBe(4);
  });
});

describe("command jobs", () => {
  const script = (code: string) => churnJob({ id: "cmd-leak", algorithm: "command", command: { argv: [NODE, "-e", code] } });

  it("need the admin role and an executable on the allowlist; off when the allowlist is empty", async () => {
    const job = script("process.exit(1)");
    for (const token of [tokens.viewer, tokens.operator, TRAINER_TOKEN]) {
      const res = await call("POST", "/v1/jobs", token, job);
      expect(res.status).toBe(403);
    }
    const sh = await call("POST", "/v1/jobs", tokens.admin, churnJob({ algorithm: "command", command: { argv: ["/bin/sh", "-c", "env"] } }));
    expect([sh.status, (await errorShape(sh)).message]).toEqual([400, expect.stringMatching(/^command\.argv\.0: "\/bin\/sh" is not in this trainer's VERGE_COMMAND_ALLOWLIST/)]);
    const off = buildOrigin(config, { extraRoutes: [{ path: "/", app: trainerApi({ ...services, config: { ...config, VERGE_COMMAND_ALLOWLIST: [] } }) }] }).app;
    const refused = await off.request("/v1/jobs", { method: "POST", headers: { authorization: `Bearer ${tokens.admin}`, "content-type": "application/json" }, body: JSON.stringify(job) });
    expect([refused.status, (await errorShape(refused)).message]).toEqual([403, expect.stringContaining("VERGE_COMMAND_ALLOWLIST")]);
    // Playbooks run their job later, as the trainer: the same rule when they are set.
    const playbook = { job: { algorithm: "command", command: { argv: [NODE, "-e", "0"] }, dataset: job.dataset, feature_spec: job.feature_spec } };
    expect((await call("PUT", "/v1/playbooks/churn", tokens.operator, playbook)).status).toBe(403);
    expect((await call("PUT", "/v1/playbooks/churn", tokens.admin, playbook)).status).toBe(200);
    expect((await call("DELETE", "/v1/playbooks/churn", tokens.operator)).status).toBe(204);
    // A schedule is forwarded with the trainer's operator token: a command one is refused here.
    const schedule = await call("PUT", "/v1/schedules/cmd", tokens.admin, { cron: "0 3 * * *", task: { kind: "train", job: { ...job, id: undefined } } });
    expect(schedule.status).toBe(403);
    expect(services.runner.list()).toEqual([]);
  });

  it("a command printing the trainer's token and its environment: the job fails, its reason shows neither", async () => {
    const leak = `console.error(Object.keys(process.env).sort().join(","), ${JSON.stringify(tokens.operator)}, ${JSON.stringify(config.VERGE_ORIGIN_SECRET)}); process.exit(1)`;
    const res = await call("POST", "/v1/jobs", tokens.admin, script(leak));
    expect(res.status).toBe(202);
    const view = await eventually(async () => {
      const r = await call("GET", "/v1/jobs/cmd-leak", tokens.viewer);
      const v = (await r.json()) as { phase: string; error?: string };
      return ["succeeded", "failed"].includes(v.phase) ? v : undefined;
    }, 120_000);
    expect(view.phase).toBe("failed");
    expect(view.error).toMatch(/exited with 1; its last output: HOME,LANG|exited with 1; its last output: (HOME,)?(LANG,)?PATH/);
    const everything = JSON.stringify(await (await call("GET", "/v1/jobs", tokens.viewer)).json());
    for (const secret of [tokens.operator, config.VERGE_ORIGIN_SECRET]) {
      expect(view.error).not.toContain(secret);
      expect(everything).not.toContain(secret);
    }
    // A viewer sees the job, not the program's arguments.
    expect(everything).not.toContain("process.exit(1)");
  }, 180_000);
});

describe("arbitrary requests", () => {
  it("to the alert webhook: arbitrary bodies and signatures are refused with a 4xx and start nothing", async () => {
    const jobs = services.runner.list().length;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 })), fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s)), fc.string({ maxLength: 70 }).filter((s) => /^[\x20-\x7e]*$/.test(s)), async (body, timestamp, signature) => {
        const res = await call("POST", "/hooks/alerts", undefined, body, { "x-verge-timestamp": timestamp, "x-verge-signature": signature });
        expect(res.status, `${body} → ${res.status}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        await errorShape(res);
      }),
      { numRuns: 100 },
    );
    expect(services.runner.list().length).toBe(jobs);
  });

  const state = async () => JSON.stringify([services.runner.list(), services.playbooks.state, (await stack.admin.raw("GET", "/v1/schedules")).body]);

  it("give a 4xx in the shared shape or a success, never a 5xx, and a refused one changes nothing", { timeout: 300_000 }, async () => {
    const anyToken = fc.oneof(fc.constantFrom(...ROLES.map((r) => tokens[r]), TRAINER_TOKEN), fc.string({ maxLength: 40 }), fc.constant(undefined));
    const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 60 }), fc.constant(undefined));
    const headers = fc.dictionary(fc.constantFrom("last-event-id", "content-type", "if-match", "x-request-id"), fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)), { maxKeys: 2 });
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...guarded), fc.string({ minLength: 1, maxLength: 20 }), anyToken, body, headers, async (e, segment, token, payload, extra) => {
        const before = await state();
        const res = await call(e.method.toUpperCase(), concrete(e.path, segment), token, e.method === "get" ? undefined : payload, extra);
        const label = `${e.method} ${concrete(e.path, segment)} ${JSON.stringify(payload)} → ${res.status}`;
        expect(res.status, label).toBeLessThan(500);
        if (res.status >= 400) {
          refused++;
          await errorShape(res);
          expect(await state(), label).toEqual(before);
        } else await res.body?.cancel();
      }),
      { numRuns: 150 },
    );
    expect(refused).toBeGreaterThan(100);
  });
});
