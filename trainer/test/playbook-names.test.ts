// Playbooks are kept by model name in a JSON object: a model named like an inherited property
// (`constructor`) must read as "no playbook", not as the object's constructor function.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Hono } from "hono";
import { signRequest, type Alert } from "@verge/shared";
import { onError } from "@verge/shared/http";
import { alertHook, playbookRoutes, PlaybookStore } from "../src/playbook/playbook.ts";
import type { RegistryClient } from "../src/registry/client.ts";
import type { JobRunner } from "../src/jobs/runner.ts";
import type { TrainerEnv } from "../src/http/auth.ts";

const dir = mkdtempSync(join(tmpdir(), "verge-playbooks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Neither route below reaches the registry or the runner when the model has no playbook; any
// call to them is a failure of the test.
const unreachable = new Proxy({}, { get: (_, name) => () => Promise.reject(new Error(`unexpected call to ${String(name)}`)) });

describe("playbooks keyed by model name", () => {
  const store = new PlaybookStore(dir);
  store.state.webhook = { id: "wh_1", secret: "s".repeat(32), url: "http://trainer/hooks/alerts" };

  it("has no playbook for a model named constructor: DELETE answers 404", async () => {
    // As the trainer's auth middleware leaves it: an operator, who may delete playbooks.
    const routes = new Hono<TrainerEnv>()
      .use((c, next) => (c.set("principal", { role: "operator", actor: "test" }), next()))
      .route("/", playbookRoutes(store, unreachable as RegistryClient, "http://trainer/hooks/alerts", []))
      .onError(onError);
    const res = await routes.request("/constructor", { method: "DELETE" });
    expect(res.status).toBe(404);
  });

  it("acknowledges an alert on a model named constructor with no action, rather than failing", async () => {
    const hook = new Hono().route("/", alertHook(store, unreachable as RegistryClient, unreachable as JobRunner)).onError(onError);
    const alert: Alert = { id: 1, model: "constructor", version: 1, kind: "drift", subject: "feature x", status: "open", details: {}, opened_at: "2026-11-30T00:00:00Z", last_seen_at: "2026-11-30T00:00:00Z", acked_by: null, acked_at: null };
    const body = JSON.stringify({ event: "alert.opened", alert });
    const res = await hook.request("/", { method: "POST", headers: await signRequest(store.state.webhook!.secret, "POST", "/", body), body });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ action: "none" });
  });
});
