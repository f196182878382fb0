// Local state folders from earlier versions start with this one: a folder whose D1 database got
// migrations up to 0010_schedules takes 0011_monitoring_store and keeps its data, and a folder
// made before the stack took its resource ids from wrangler.toml (D1 keyed `verge`, KV
// `verge-<binding>`) has its files renamed to the current ids instead of starting empty beside them.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, WORKERS } from "../scripts/lib/build.ts";
import { objectFileId, upgradeLocalState } from "../scripts/lib/local-state.ts";
import { miniflare } from "../scripts/lib/miniflare.ts";
import { applyMigrations, stackOptions } from "../scripts/lib/stack.ts";
import { workerConfig } from "../scripts/lib/wrangler-config.ts";
import { ADMIN_TOKEN, GATEWAY_TOKEN, testStack } from "./helpers.ts";

const dirs: string[] = [];
const tempDir = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `verge-${name}-`));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sqliteFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");

describe("a local state folder from an earlier version", () => {
  it("that applied migrations up to 0010_schedules takes 0011_monitoring_store and keeps its registry and schedules", { timeout: 120_000 }, async () => {
    const state = tempDir("state-0010");
    // The migrations as they stood at 0010_schedules, applied by a stack on this folder.
    const upTo0010 = tempDir("migrations-0010");
    for (const f of readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql") && f < "0011")) cpSync(join(ROOT, "migrations", f), join(upTo0010, f));
    const mf = miniflare(stackOptions({ adminToken: ADMIN_TOKEN, gatewayToken: GATEWAY_TOKEN, persistTo: state }));
    try {
      await mf.ready;
      const applied = await applyMigrations(await mf.getD1Database("DB", WORKERS.controlPlane.name), upTo0010);
      expect(applied.at(-1)).toBe("0010_schedules.sql");
      const cp = await mf.getWorker(WORKERS.controlPlane.name);
      const call = async (method: string, path: string, body: unknown) => {
        const res = await cp.fetch(`http://control-plane${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
        expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
      };
      await call("POST", "/v1/models", { name: "kept", task: "regression" });
      await call("PUT", "/v1/schedules/kept-nightly", { cron: "0 2 * * *", timezone: "UTC", task: { kind: "materialize", request: { views: [{ name: "v", path: "v.parquet", entity: "id" }] } } });
    } finally {
      await mf.dispose();
    }

    const stack = await testStack({ persistTo: state });
    try {
      const d1 = await stack.mf.getD1Database("DB", WORKERS.controlPlane.name);
      const names = (await d1.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results.map((r) => r.name);
      expect(names.slice(names.indexOf("0010_schedules.sql"), names.indexOf("0010_schedules.sql") + 2)).toEqual(["0010_schedules.sql", "0011_monitoring_store.sql"]);
      expect(names.at(-1)).toBe(readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).sort().at(-1));
      expect((await stack.admin.api.listModels()).models.map((m) => m.name)).toEqual(["kept"]);
      expect(await stack.admin.api.getSchedule({ params: { id: "kept-nightly" } })).toMatchObject({ cron: "0 2 * * *", revision: 1 });
      // The new tables serve: log settings and the dead-letter index.
      await stack.admin.api.putLogSettings({ params: { model: "kept" }, body: { redact: [], retention_days: 7 } });
      expect((await stack.admin.api.getLogSettings({ params: { model: "kept" } })).retention_days).toBe(7);
      expect((await stack.admin.api.listDeadLetters({ query: {} })).dead_letters).toEqual([]);
    } finally {
      await stack.dispose();
    }
  });

  it("made before ids came from wrangler.toml: its D1 and KV files take the current ids, once", () => {
    const fixture = join(ROOT, "test/fixtures/state-c50bed9");
    // The names miniflare gave the old ids are the files the fixture holds.
    expect(sqliteFiles(join(fixture, "d1/miniflare-D1DatabaseObject"))).toEqual([`${objectFileId("miniflare-D1DatabaseObject", "verge")}.sqlite`]);
    expect(sqliteFiles(join(fixture, "kv/miniflare-KVNamespaceObject"))).toEqual([`${objectFileId("miniflare-KVNamespaceObject", "verge-snapshot-cache")}.sqlite`]);

    const state = tempDir("state-legacy");
    cpSync(fixture, state, { recursive: true });
    const configs = [workerConfig("gateway"), workerConfig("controlPlane")];
    const dbId = workerConfig("controlPlane").d1_databases![0]!.database_id!;
    const cacheId = workerConfig("gateway").kv_namespaces!.find((k) => k.binding === "SNAPSHOT_CACHE")!.id!;
    expect(upgradeLocalState(state, configs).sort()).toEqual([`verge → ${dbId}`, `verge-snapshot-cache → ${cacheId}`]);
    expect(sqliteFiles(join(state, "d1/miniflare-D1DatabaseObject"))).toEqual([`${objectFileId("miniflare-D1DatabaseObject", dbId)}.sqlite`]);
    expect(sqliteFiles(join(state, "kv/miniflare-KVNamespaceObject"))).toEqual([`${objectFileId("miniflare-KVNamespaceObject", cacheId)}.sqlite`]);
    expect(existsSync(join(state, "kv", cacheId, "blobs"))).toBe(true);
    expect(existsSync(join(state, "kv/verge-snapshot-cache"))).toBe(false);
    // A second start moves nothing, and a folder already on the current ids is left alone.
    expect(upgradeLocalState(state, configs)).toEqual([]);
    const fresh = tempDir("state-fresh");
    mkdirSync(join(fresh, "d1/miniflare-D1DatabaseObject"), { recursive: true });
    expect(upgradeLocalState(fresh, configs)).toEqual([]);
  });
});
