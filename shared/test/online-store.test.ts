// One suite, every online-store driver, each against a real backend: Upstash through the bridge
// to a real redis-server, and Workers KV in miniflare, read through its binding and through
// Cloudflare's REST API (the `cloudflare` package against the local stack's stand-in for that API).
import type { Miniflare } from "miniflare";
import { miniflare } from "../../scripts/lib/miniflare.ts";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onlineKey, type OnlineStore } from "../src/online-store/index.ts";
import { kvStore, type KvNamespaceLike } from "../src/online-store/kv.ts";
import { upstashStore } from "../src/online-store/upstash.ts";
import { startUpstashBridge } from "../../scripts/lib/upstash-bridge.ts";
import { freePort, startRedis } from "../../scripts/lib/redis-server.ts";
import { cloudflareApiWorker, localCloudflareApiUrl } from "../../scripts/lib/cloudflare-api.ts";
import type { WorkerConfig } from "../../scripts/lib/wrangler-config.ts";
import { kvApiStore } from "../src/online-store/kv-api.ts";

const TOKEN = "bridge-test-token";
let redis: Awaited<ReturnType<typeof startRedis>>;
let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
let mf: Miniflare;
let apiPort: number;
const drivers: Record<string, () => OnlineStore> = {};

beforeAll(async () => {
  redis = await startRedis();
  bridge = await startUpstashBridge({ redisUrl: redis.url, token: TOKEN });
  apiPort = await freePort();
  const api = cloudflareApiWorker({ kv_namespaces: [{ binding: "FEATURES", id: "FEATURES" }], compatibility_date: "2026-08-01" } as WorkerConfig, { port: apiPort, token: TOKEN });
  mf = miniflare({ cf: false, workers: [{ name: "kv", modules: true, script: "export default { fetch() { return new Response() } }", kvNamespaces: ["FEATURES"], compatibilityDate: "2026-08-01" }, api] });
  await mf.ready;
  const kv = (await mf.getKVNamespace("FEATURES", "kv")) as unknown as KvNamespaceLike;
  drivers.upstash = () => upstashStore({ url: bridge.url, token: TOKEN });
  drivers.kv = () => kvStore(kv);
  drivers["kv-api"] = () => kvApiStore({ accountId: "local", apiToken: TOKEN, namespaceId: "FEATURES", baseUrl: localCloudflareApiUrl(apiPort) });
});
afterAll(async () => {
  await bridge?.close();
  await redis?.stop();
  await mf?.dispose();
});

describe.each(["upstash", "kv", "kv-api"])("online store driver: %s", (name) => {
  const store = () => drivers[name]!();

  it("reads back what it wrote, exactly, in key order", async () => {
    const rows = [
      { key: onlineKey("users", "ü-1"), row: { ts: 1_700_000_000_000, values: { age: 41.5, plan: "prö 日本", member: true, none: null } } },
      { key: onlineKey("users", "2"), row: { ts: 1, values: { age: -0.1, plan: "", member: false, none: null } } },
    ];
    await store().putMany(rows);
    const got = await store().getMany([rows[1]!.key, "fv:users:missing", rows[0]!.key, rows[1]!.key]);
    expect(got).toEqual([rows[1]!.row, undefined, rows[0]!.row, rows[1]!.row]);
  });

  it("reads more keys than one bulk request holds", async () => {
    const rows = Array.from({ length: 250 }, (_, i) => ({ key: onlineKey("bulk", String(i)), row: { ts: i, values: { i } } }));
    await store().putMany(rows);
    const got = await store().getMany(rows.map((r) => r.key));
    expect(got.map((r) => r?.values.i)).toEqual(rows.map((_, i) => i));
  });

  it("reads a corrupt row as missing instead of failing", async () => {
    await store().putMany([{ key: "fv:bad:1", row: { ts: 1, values: {} } }]);
    if (name === "upstash") await new Redis({ url: bridge.url, token: TOKEN }).set("fv:bad:1", "{not json");
    else await ((await mf.getKVNamespace("FEATURES", "kv")) as unknown as KvNamespaceLike).put("fv:bad:1", "{not json");
    expect(await store().getMany(["fv:bad:1"])).toEqual([undefined]);
    expect(await store().getMany([])).toEqual([]);
  });
});

describe("Upstash bridge protocol", () => {
  const call = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${bridge.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, ...headers }, body: JSON.stringify(body) });

  it("refuses a wrong token", async () => {
    const res = await fetch(bridge.url, { method: "POST", headers: { authorization: "Bearer nope" }, body: '["ping"]' });
    expect(res.status).toBe(401);
    expect(await res.json()).toHaveProperty("error");
  });

  it("returns bulk strings as exact bytes under base64 encoding", async () => {
    const value = "a\u0000é😀";
    await call("/", ["set", "raw", value]);
    const plain = (await (await call("/", ["get", "raw"])).json()) as { result: string };
    expect(plain.result).toBe(value);
    const encoded = (await (await call("/", ["get", "raw"], { "upstash-encoding": "base64" })).json()) as { result: string };
    expect(Buffer.from(encoded.result, "base64").toString("utf8")).toBe(value);
  });

  it("answers a pipeline with one result or error per command", async () => {
    const res = (await (await call("/pipeline", [["set", "n", "1"], ["incr", "n"], ["lpush", "n", "x"], ["get", "n"]])).json()) as { result?: unknown; error?: string }[];
    expect(res).toHaveLength(4);
    expect(res[1]).toEqual({ result: 2 });
    expect(res[2]!.error).toMatch(/WRONGTYPE/);
    expect(res[3]).toEqual({ result: "2" });
  });

  it("runs multi-exec as one transaction that other clients cannot interleave", async () => {
    await call("/", ["set", "counter", "0"]);
    const tx = Array.from({ length: 20 }, () => ["incr", "counter"]);
    const [a, b] = (await Promise.all([call("/multi-exec", tx), call("/multi-exec", tx)].map((p) => p.then((r) => r.json())))) as { result: number }[][];
    const values = (x: { result: number }[]) => x.map((r) => r.result);
    // Each transaction's increments are consecutive: nothing from the other slipped in between.
    for (const run of [values(a!), values(b!)]) expect(run.every((v, i) => i === 0 || v === run[i - 1]! + 1)).toBe(true);
    expect(Math.max(...values(a!), ...values(b!))).toBe(40);
  });

  it("works with the @upstash/redis client as is", async () => {
    const client = new Redis({ url: bridge.url, token: TOKEN });
    await client.set("k", { nested: ["ok", 1] });
    expect(await client.get("k")).toEqual({ nested: ["ok", 1] });
    await client.hset("h", { a: "1", b: "two" });
    expect(await client.hgetall("h")).toEqual({ a: 1, b: "two" });
    expect(await client.mget("k", "absent")).toEqual([{ nested: ["ok", 1] }, null]);
  });
});

describe("Workers KV over Cloudflare's API", () => {
  it("writes in several bulk calls, read back through the binding, and reports a refused call", async () => {
    const store = kvApiStore({ accountId: "local", apiToken: TOKEN, namespaceId: "FEATURES", baseUrl: localCloudflareApiUrl(apiPort), pairsPerWrite: 40 });
    const rows = Array.from({ length: 101 }, (_, i) => ({ key: onlineKey("many", String(i)), row: { ts: i, values: { i } } }));
    await store.putMany(rows);
    const kv = (await mf.getKVNamespace("FEATURES", "kv")) as unknown as KvNamespaceLike;
    const read = new Map([...(await kv.get(rows.slice(0, 100).map((r) => r.key), "text")), ...(await kv.get(rows.slice(100).map((r) => r.key), "text"))]);
    expect(rows.every((r) => read.get(r.key) === JSON.stringify(r.row))).toBe(true);
    const wrongToken = kvApiStore({ accountId: "local", apiToken: "wrong", namespaceId: "FEATURES", baseUrl: localCloudflareApiUrl(apiPort) });
    await expect(wrongToken.putMany([{ key: "fv:x:1", row: { ts: 1, values: {} } }])).rejects.toThrow(/Authentication error/);
    const wrongNamespace = kvApiStore({ accountId: "local", apiToken: TOKEN, namespaceId: "elsewhere", baseUrl: localCloudflareApiUrl(apiPort) });
    await expect(wrongNamespace.getMany(["fv:x:1"])).rejects.toThrow(/namespace not found/);
  });
});
