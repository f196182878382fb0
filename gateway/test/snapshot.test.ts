// Snapshot freshness and outages: a rollback reaches the gateway within the TTL, and with the
// control plane down even a cold isolate serves from the last known good copy in KV.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { stackOptions } from "../../scripts/lib/stack.ts";
import { ADMIN_TOKEN, CLIENT_KEY, errorOf, eventually, GATEWAY_TOKEN, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
const TTL_MS = 500;
const dir = mkdtempSync(join(tmpdir(), "verge-snapshot-"));

beforeAll(async () => {
  stack = await testStack({ persistTo: dir, snapshotTtlMs: TTL_MS });
  await seedDemo(stack.admin, CLIENT_KEY);
  await stack.admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
});
afterAll(async () => {
  await stack?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits one TTL by the clock: a change made before the call is served after it. */
const afterTtl = async () => {
  const due = Date.now() + TTL_MS;
  while (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
};
const versionServed = async () => ((await (await stack.predict("demo", { unit: "u1" })).json()) as { version: number }).version;

describe("snapshot", () => {
  it("serves a promotion and a rollback once the TTL has passed", async () => {
    expect(await versionServed()).toBe(1);
    await stack.admin.ok("POST", "/v1/models/demo/promote", { version: 2 });
    await afterTtl();
    expect(await versionServed()).toBe(2);
    await stack.admin.ok("POST", "/v1/models/demo/rollback", { reason: "test" });
    await afterTtl();
    expect(await versionServed()).toBe(1);
  });

  it("refuses a revoked client key once the snapshot TTL has passed since the revocation", async () => {
    const created = await stack.admin.ok("POST", "/v1/keys", { name: "short-lived", models: ["demo"] });
    const call = (key: string) => stack.predict("demo", { unit: "u1" }, { authorization: `Bearer ${key}` });
    // The new key works as soon as the isolate's snapshot carries it (within one TTL).
    await eventually(async () => ((await call(created.key)).status === 200 ? true : undefined), 30_000, 50);
    await stack.admin.ok("DELETE", `/v1/keys/${created.id}`);
    // No request was in flight during the revocation, so the held snapshot was checked before it:
    // from one TTL after it on, every request must see the key gone.
    await afterTtl();
    for (let i = 0; i < 3; i++) {
      const res = await call(created.key);
      expect(res.status).toBe(401);
      expect((await errorOf(res)).message).toMatch(/unknown or revoked client key/);
    }
    expect((await stack.predict("demo", { unit: "u1" })).status).toBe(200);
  });

  it("keeps serving from a cold isolate while the control plane is down", async () => {
    const options = stackOptions({ adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN, persistTo: dir, snapshotTtlMs: 500 });
    const [gateway, controlPlane] = options.workers;
    // Restarting workerd gives the gateway a cold isolate; the control plane now only fails.
    await stack.mf.setOptions({
      ...options,
      workers: [gateway!, { name: controlPlane!.name, compatibilityDate: "2026-08-01", modules: true, script: "export default { fetch() { return new Response('down', { status: 503 }) } }" }],
    });
    const res = await stack.predict("demo", { unit: "u1" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { version: number }).version).toBe(1);
  });
});
