// Roles, audit, promotion, rollback, staged rollouts with guardrails, and atomicity under an
// injected failure — inside workerd with real D1.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogRecord } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoMetadata } from "../../scripts/lib/demo.ts";
import { controlPlaneClient, type ControlPlaneClient } from "@verge/client";
import { eventually, GATEWAY_TOKEN, tableCounts, testStack, type TestStack } from "../../test/helpers.ts";
import { settledAt, tick } from "../../test/drain.ts";
import { app } from "../src/index.ts";
import { controlPlaneDocument } from "../src/openapi.ts";

let stack: TestStack;
const tokens: Record<string, ControlPlaneClient> = {};

beforeAll(async () => {
  stack = await testStack();
  await stack.admin.ok("POST", "/v1/models", { name: "m", task: "binary_classification" });
  for (let i = 1; i <= 3; i++) await stack.admin.uploadVersion("m", logisticRegressionModel([i, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
  for (const role of ["viewer", "operator", "admin"]) {
    const t = await stack.admin.ok("POST", "/v1/tokens", { name: `${role} bot`, role });
    tokens[role] = controlPlaneClient({ fetch: stack.controlPlane, token: t.token });
  }
});
afterAll(() => stack?.dispose());

describe("roles", () => {
  const order = ["viewer", "operator", "admin"] as const;
  // Bodies that would pass validation where a route takes one; others get `{}`.
  const bodies: Record<string, unknown> = {
    "POST /v1/models": { name: "role-test", task: "regression" },
    "PUT /v1/models/{model}/aliases/{alias}": { version: 1 },
    "PUT /v1/models/{model}/deployment": { variants: [{ name: "a", version: 1, weight: 10000 }] },
    "POST /v1/models/{model}/promote": { version: 1, alias: "canary" },
    "POST /v1/models/{model}/rollback": { alias: "canary" },
    "POST /v1/keys": { name: "k", models: ["m"] },
    "POST /v1/tokens": { name: "t", role: "viewer" },
    "POST /v1/webhooks": { url: "http://127.0.0.1:9/hook" },
    "PUT /v1/schedules/{id}": { cron: "0 3 * * *", task: { kind: "materialize", request: { views: [{ name: "v", path: "v.parquet", entity: "id" }] } } },
  };
  const concrete = (path: string) => path.replace("{model}", "m").replace("{version}", "1").replace("{alias}", "staging").replace("{id}", "1").replace("{at}", "0");

  it("refuses every documented route to every role below its own, with 403", async () => {
    // Driven by the generated document: every route it lists, with the access its guard enforces.
    const doc = (await controlPlaneDocument(app)) as unknown as { paths: Record<string, Record<string, { "x-verge-access": string }>> };
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, role: op["x-verge-access"] })));
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes.filter((r) => r.role !== "gateway")) {
      const method = route.method.toUpperCase();
      const body = route.method === "get" || route.method === "delete" ? undefined : (bodies[`${method} ${route.path}`] ?? {});
      const min = route.role as (typeof order)[number];
      for (const role of order.slice(0, order.indexOf(min))) {
        const res = await tokens[role]!.raw(method, concrete(route.path), body);
        expect(res.status, `${role} ${method} ${route.path}`).toBe(403);
      }
      const res = await tokens[min]!.raw(method, concrete(route.path), body);
      expect(res.status, `${min} ${method} ${route.path}: ${JSON.stringify(res.body)}`).not.toBe(403);
      expect(res.status, `${min} ${method} ${route.path}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
    }
  });

  it("never shows a token or key again after creation, and revoked tokens stop working", async () => {
    const created = await stack.admin.ok("POST", "/v1/tokens", { name: "temp", role: "viewer" });
    const list = await stack.admin.raw("GET", "/v1/tokens");
    expect(JSON.stringify(list.body)).not.toContain(created.token);
    const audit = await stack.admin.raw("GET", "/v1/audit?limit=500");
    expect(JSON.stringify(audit.body)).not.toContain(created.token);
    const temp = controlPlaneClient({ fetch: stack.controlPlane, token: created.token });
    expect((await temp.raw("GET", "/v1/models")).status).toBe(200);
    await stack.admin.ok("DELETE", `/v1/tokens/${created.id}`);
    expect((await temp.raw("GET", "/v1/models")).status).toBe(401);
    const key = await stack.admin.ok("POST", "/v1/keys", { name: "app", models: ["m"] });
    expect(JSON.stringify((await stack.admin.raw("GET", "/v1/keys")).body)).not.toContain(key.key);
  });
});

describe("promotion and rollback", () => {
  it("promotes and rolls back one step at a time through the alias history", async () => {
    for (const v of [1, 2, 3]) await stack.admin.ok("POST", "/v1/models/m/promote", { version: v, reason: `ship ${v}` });
    const back1 = await stack.admin.ok("POST", "/v1/models/m/rollback", { reason: "bad 3" });
    expect(back1.version).toBe(2);
    const back2 = await stack.admin.ok("POST", "/v1/models/m/rollback", {});
    expect(back2.version).toBe(1);
    const none = await stack.admin.raw("POST", "/v1/models/m/rollback", {});
    expect(none.status).toBe(409);
    const history = await stack.admin.ok("GET", "/v1/models/m/aliases/production/history");
    expect(history.history.slice(0, 2).map((h) => [h.kind, h.from, h.to])).toEqual([["rollback", 2, 1], ["rollback", 3, 2]]);
  });

  it("records every mutation in the audit log with before and after, filterable", async () => {
    const res = await stack.admin.ok("GET", "/v1/audit?target=models/m/aliases/production");
    expect(res.entries[0]).toMatchObject({ action: "alias.rollback", actor: "bootstrap-admin", before: { version: 2 }, after: { version: 1 } });
    const byAction = await stack.admin.ok("GET", "/v1/audit?action=alias.set");
    expect(byAction.entries.length).toBeGreaterThanOrEqual(3);
  });

  it("loses a concurrent alias move with 409 instead of overwriting it", async () => {
    const stale = await stack.admin.raw("PUT", "/v1/models/m/aliases/production", { version: 3 }, { "if-match": '"2"' });
    expect(stale.status).toBe(409);
    const fresh = await stack.admin.raw("PUT", "/v1/models/m/aliases/production", { version: 2 }, { "if-match": '"1"' });
    expect(fresh.status).toBe(200);
  });
});

describe("staged rollout", () => {
  // Rollout time is driven explicitly: evaluations run as the cron tick of a chosen moment.
  const logs = async (variant: string, version: number, n: number, error: boolean, ts = Date.now()) => {
    const q = await stack.mf.getQueueProducer<LogRecord>("PREDICTION_LOGS", "verge-gateway");
    const records = Array.from({ length: n }, (_, i) => ({
      request_id: `${variant}-${version}-${ts}-${i}`,
      ts,
      model: "m",
      version,
      variant,
      shadow: false,
      snapshot_version: 1,
      unit_hash: i,
      features: {},
      outputs: { probability: 0.5 },
      latency_ms: { total: 3, features: 0, infer: 1 },
      status: error ? ("error" as const) : ("ok" as const),
      degraded: [],
      colo: "t",
    }));
    for (let i = 0; i < records.length; i += 100) await q.sendBatch(records.slice(i, i + 100).map((body) => ({ body })));
  };
  type Series = { variant: string; version: number; count: number; errors: number }[];
  /** Waits until the candidate's counted predictions since `from` reach `n`, and checks none is counted twice. */
  const counted = async (version: number, n: number, from: number, field: "count" | "errors" = "count") => {
    const read = async () => (await stack.admin.ok("GET", `/v1/models/m/metrics?from=${from - 60_000}&to=${Date.now() + 600_000}`)).series.filter((s) => s.variant === "candidate" && s.version === version).reduce((t, s) => t + s[field], 0);
    expect(await settledAt(stack, read, n)).toBe(n);
  };
  type RolloutView = { status: string; step: number; weight_bp: number; step_started_at: string; reason: string | null; last_decision: { action: string; reasons: string[]; applied?: string } | null };
  const current = async () => (await stack.admin.ok("GET", "/v1/models/m/rollouts")).rollouts[0]!;

  it("steps traffic up and promotes when the rule passes, restoring the deployment", async () => {
    await stack.admin.ok("PUT", "/v1/models/m/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
    await stack.admin.ok("PUT", "/v1/models/m/promotion-rule", { min_samples: 50, min_duration_s: 0, guardrails: { max_error_rate: 0.05, max_p99_ms: 500, min_samples: 20 } });
    const started = await stack.admin.ok("POST", "/v1/models/m/promote", { version: 3, plan: { steps: [2000, 10000], interval_s: 60 } });
    expect(started.rollout.weight_bp).toBe(2000);
    const t0 = Date.parse(started.rollout.step_started_at);
    const dep = await stack.admin.ok("GET", "/v1/models/m/deployment");
    expect(dep.variants.map((v) => [v.name, v.weight])).toEqual([["baseline", 8000], ["candidate", 2000]]);

    // Too few samples, and the step is young: hold (the evaluate route answers every time, or the test fails).
    const held = await stack.admin.ok("POST", "/v1/models/m/rollouts/evaluate");
    expect(held.decision.action).toBe("hold");
    await logs("candidate", 3, 60, false, t0);
    await counted(3, 60, t0);
    // Enough samples, but the plan's interval (60 s) has not passed: still hold, and say why.
    await tick(stack, t0 + 59_999);
    expect(await current()).toMatchObject({ status: "running", step: 0, last_decision: { action: "hold", reasons: ["59 of 60 s in this step"] } });
    await tick(stack, t0 + 60_000);
    const stepped = await current();
    expect(stepped).toMatchObject({ status: "running", step: 1, weight_bp: 10000, last_decision: { action: "advance" } });
    const t1 = Date.parse(stepped.step_started_at);
    expect(t1).toBe(t0 + 60_000);
    // The new step's window starts empty: the first step's samples do not count again.
    await tick(stack, t1 + 60_000);
    expect(await current()).toMatchObject({ status: "running", step: 1, last_decision: { action: "hold", reasons: ["0 of 50 samples"] } });
    await logs("candidate", 3, 60, false, t1 + 60_000);
    await counted(3, 60, t1 + 60_000);
    await tick(stack, t1 + 60_001);
    const done = await current();
    expect(done).toMatchObject({ status: "completed", last_decision: { action: "advance" } });
    const aliases = await stack.admin.ok("GET", "/v1/models/m/aliases");
    expect(aliases.aliases.find((a) => a.alias === "production")!.version).toBe(3);
    const restored = await stack.admin.ok("GET", "/v1/models/m/deployment");
    expect(restored.variants).toEqual([{ name: "main", alias: "production", weight: 10000 }]);
  });

  it("rolls back by itself when a guardrail breaks, from the cron trigger", async () => {
    const started = await stack.admin.ok("POST", "/v1/models/m/promote", { version: 1, plan: { steps: [5000, 10000], interval_s: 60 } });
    const t0 = Date.parse(started.rollout.step_started_at);
    await logs("candidate", 1, 60, true, t0); // every prediction fails
    await counted(1, 60, t0, "errors");
    // A guardrail does not wait for the interval: the next tick rolls back.
    await tick(stack, t0 + 1);
    const list = await stack.admin.ok("GET", "/v1/models/m/rollouts");
    expect(list.rollouts[0]).toMatchObject({ status: "rolled_back" });
    expect(list.rollouts[0]!.reason).toMatch(/guardrail: error rate/);
    const dep = await stack.admin.ok("GET", "/v1/models/m/deployment");
    expect(dep.variants.map((v) => v.name)).toEqual(["main"]);
    const aliases = await stack.admin.ok("GET", "/v1/models/m/aliases");
    expect(aliases.aliases.find((a) => a.alias === "production")!.version).toBe(3);
  });
});

describe("rollouts and drift", () => {
  it("holds a rollout while a drift alert is open on the candidate", async () => {
    await stack.admin.ok("POST", "/v1/models/m/promote", { version: 2, plan: { steps: [10000], interval_s: 1 } });
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    await db.prepare("INSERT INTO alerts (model, version, kind, subject, details) VALUES ('m', 2, 'drift', 'x', '{}')").run();
    const r = await stack.admin.ok("POST", "/v1/models/m/rollouts/evaluate");
    expect(r.decision.action).toBe("hold");
    expect(r.decision.reasons).toContain("a drift alert is open");
    await stack.admin.ok("POST", "/v1/models/m/rollouts/cancel");
  });

  it("refuses a manual promote, alias set or rollback of the rollout's alias with a 409 naming the rollout", async () => {
    const before = (await stack.admin.ok("GET", "/v1/models/m/aliases")).aliases.find((a) => a.alias === "production")!.version;
    const candidate = before === 2 ? 1 : 2;
    const started = await stack.admin.ok("POST", "/v1/models/m/promote", { version: candidate, plan: { steps: [5000, 10000], interval_s: 600 } });
    const other = [1, 2, 3].find((v) => v !== before && v !== candidate)!;
    const attempts = [
      await stack.admin.raw("POST", "/v1/models/m/promote", { version: other }),
      await stack.admin.raw("PUT", "/v1/models/m/aliases/production", { version: candidate }),
      await stack.admin.raw("POST", "/v1/models/m/rollback", { reason: "manual" }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(409);
      expect((res.body as { error: { message: string } }).error.message).toContain(`rollout ${started.rollout.id}`);
    }
    // Nothing moved: the alias, and the rollout's baseline, are as they were.
    expect((await stack.admin.ok("GET", "/v1/models/m/aliases")).aliases.find((a) => a.alias === "production")!.version).toBe(before);
    expect((await stack.admin.ok("GET", "/v1/models/m/rollouts")).rollouts[0]).toMatchObject({ status: "running", baseline: before, candidate });
    // Another alias is free to move, and once the rollout is cancelled so is this one.
    await stack.admin.ok("PUT", "/v1/models/m/aliases/canary", { version: other });
    await stack.admin.ok("POST", "/v1/models/m/rollouts/cancel");
    await stack.admin.ok("POST", "/v1/models/m/promote", { version: other });
    await stack.admin.ok("POST", "/v1/models/m/rollback", { reason: "back" });
  });
});

describe("atomicity", () => {
  it("leaves no partial state when a multi-step change fails part-way", async () => {
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    // The audit insert is the last statement of every change: make it fail.
    await db.exec("CREATE TRIGGER inject_failure BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    try {
      const before = await tableCounts(stack);
      const snapBefore = await stack.controlPlane("/v1/snapshot", { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } }).then((r) => r.headers.get("etag"));
      const attempts = [
        await stack.admin.raw("POST", "/v1/models/m/rollback", {}),
        await stack.admin.raw("PUT", "/v1/models/m/aliases/production", { version: 1 }),
        await stack.admin.raw("PUT", "/v1/models/m/deployment", { variants: [{ name: "x", version: 2, weight: 10000 }] }),
        await stack.admin.raw("POST", "/v1/models", { name: "never", task: "regression" }),
        await stack.admin.raw("POST", "/v1/models/m/promote", { version: 2, plan: { steps: [10000], interval_s: 1 } }),
      ];
      for (const a of attempts) {
        expect(a.status).toBe(500);
        expect(a.body).toEqual({ error: { code: "internal", message: "internal error" } });
      }
      expect(await tableCounts(stack)).toEqual(before);
      const snapAfter = await stack.controlPlane("/v1/snapshot", { headers: { authorization: `Bearer ${GATEWAY_TOKEN}` } }).then((r) => r.headers.get("etag"));
      expect(snapAfter).toBe(snapBefore);
    } finally {
      await db.exec("DROP TRIGGER inject_failure;");
    }
  });
});
