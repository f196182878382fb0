// The gateway's settings are parsed once through a schema: a bad value fails every request with a
// 503 naming it, an ambiguous online store is refused, and log records carry the request's colo.
import { describe, expect, it } from "vitest";
import type { Snapshot } from "@verge/shared";
import { gatewayConfig } from "../src/config.ts";
import { requestColo, sendLogs } from "../src/logging/log.ts";
import { errorOf, testStack } from "../../test/helpers.ts";

const env = (vars: Record<string, unknown>) => vars as unknown as Env;

describe("gateway configuration", () => {
  it("parses numbers once, with their defaults, and refuses bad values by name", () => {
    expect(gatewayConfig(env({ SNAPSHOT_TTL_MS: "250" }))).toMatchObject({ SNAPSHOT_TTL_MS: 250, FEATURE_DEADLINE_MS: 50, ONLINE_STORE: "kv", COLO: "local", ORIGIN_DEADLINE_MS: 2000 });
    expect(() => gatewayConfig(env({ FEATURE_DEADLINE_MS: "fast" }))).toThrow(/configuration: FEATURE_DEADLINE_MS/);
    expect(() => gatewayConfig(env({ ORIGIN_URL: "origin.example.com" }))).toThrow(/ORIGIN_URL/);
    expect(gatewayConfig(env({})).SNAPSHOT_COLO_CACHE).toBe("on");
    expect(gatewayConfig(env({ SNAPSHOT_COLO_CACHE: "off" })).SNAPSHOT_COLO_CACHE).toBe("off");
    expect(() => gatewayConfig(env({ SNAPSHOT_COLO_CACHE: "yes" }))).toThrow(/configuration: SNAPSHOT_COLO_CACHE/);
  });

  it("refuses an online store configured two ways or half-way", () => {
    expect(() => gatewayConfig(env({ UPSTASH_REDIS_REST_URL: "https://r.example.com", UPSTASH_REDIS_REST_TOKEN: "t" }))).toThrow(/ONLINE_STORE: is kv but UPSTASH_REDIS_REST_\* are set/);
    expect(() => gatewayConfig(env({ ONLINE_STORE: "upstash" }))).toThrow(/ONLINE_STORE=upstash needs UPSTASH_REDIS_REST_URL/);
    expect(gatewayConfig(env({ ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: "https://r.example.com", UPSTASH_REDIS_REST_TOKEN: "t" })).ONLINE_STORE).toBe("upstash");
  });

  it("in workerd, a bad setting answers every request with a 503 that names it", async () => {
    const stack = await testStack({ gatewayBindings: { SNAPSHOT_TTL_MS: "soon" } });
    try {
      const res = await stack.predict("demo", { unit: "u1" });
      expect(res.status).toBe(503);
      expect((await errorOf(res)).message).toMatch(/^configuration: SNAPSHOT_TTL_MS: /);
    } finally {
      await stack.dispose();
    }
  });
});

describe("the colo in log records", () => {
  it("is the request's cf.colo, and the COLO setting only when a request has none", async () => {
    expect(requestColo({ cf: { colo: "AMS" } } as unknown as Request)).toBe("AMS");
    expect(requestColo(new Request("http://x/"))).toBeUndefined();
    const sent: { colo: string }[] = [];
    const queue = { sendBatch: async (messages: { body: { records: { colo: string }[] } }[]) => void sent.push(...messages.flatMap((m) => m.body.records)) };
    const e = env({ COLO: "laptop", PREDICTION_LOGS: queue });
    const snapshot = { version: 1, models: {} } as unknown as Snapshot;
    const p = { version: 1, features: [{}], degraded: [[]], outputs: [{ probability: 0.5 }], featureMs: 0 };
    const ctx = { requestId: "r", model: "m", variant: "a", unit: "u", shadow: false, latency: { total: 1, features: 0, infer: 1 } };
    await sendLogs(e, snapshot, { ...ctx, colo: "AMS" }, p);
    await sendLogs(e, snapshot, { ...ctx, requestId: "r2" }, p);
    expect(sent.map((r) => r.colo)).toEqual(["AMS", "laptop"]);
  });
});
