// One online store for the trainer and the gateways, or the trainer does not start. Each case runs
// the trainer as its own process against a gateway in workerd with the real local drivers: Workers
// KV (through Cloudflare's API, the local stand-in) and Upstash (the bridge to a real redis-server).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inputWidth } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { localCloudflareApiUrl } from "../scripts/lib/cloudflare-api.ts";
import { CHURN_SPEC, writeChurnData } from "../scripts/lib/demo-data.ts";
import { freePort, startRedis } from "../scripts/lib/redis-server.ts";
import { spawnTrainer, type TrainerProcess } from "../scripts/lib/trainer-process.ts";
import { startUpstashBridge } from "../scripts/lib/upstash-bridge.ts";
import { workerConfig } from "../scripts/lib/wrangler-config.ts";
import { CLIENT_KEY, testStack, type TestStack } from "./helpers.ts";

const ORIGIN_SECRET = "origin-secret-0123456789abcdef";
const CF_TOKEN = "local-cloudflare-api-token";
const namespace = (binding: string) => workerConfig("gateway").kv_namespaces!.find((k) => k.binding === binding)!.id!;
let dir: string;
let redis: Awaited<ReturnType<typeof startRedis>>;
let bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
const running: TrainerProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "verge-store-"));
  redis = await startRedis();
  bridge = await startUpstashBridge({ redisUrl: redis.url, token: "upstash-token" });
});
afterAll(async () => {
  await Promise.all(running.map((t) => t.stop()));
  await bridge?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function trainerWith(env: Record<string, string>, cpPort: number, gwPort: number): Promise<TrainerProcess> {
  const t = spawnTrainer({
    PATH: process.env.PATH ?? "",
    PORT: String(await freePort()),
    VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${cpPort}`,
    VERGE_CONTROL_PLANE_TOKEN: "unused-here",
    VERGE_ORIGIN_SECRET: ORIGIN_SECRET,
    VERGE_TRAINER_TOKEN: "trainer-token-0123456789abcdef",
    VERGE_OFFLINE_ROOT: join(dir, "offline"),
    VERGE_TRAINER_STATE: join(dir, `state-${running.length}`),
    VERGE_GATEWAY_URL: `http://127.0.0.1:${gwPort}`,
    ...env,
  });
  running.push(t);
  return t;
}

const kvEnv = (apiPort: number, namespaceId: string) => ({
  VERGE_ONLINE_STORE: "kv",
  CLOUDFLARE_ACCOUNT_ID: "local",
  CLOUDFLARE_API_TOKEN: CF_TOKEN,
  CLOUDFLARE_BASE_URL: localCloudflareApiUrl(apiPort),
  VERGE_KV_NAMESPACE_ID: namespaceId,
});

describe("a gateway reading Workers KV", () => {
  let stack: TestStack;
  let ports: { cp: number; gw: number; api: number };
  beforeAll(async () => {
    ports = { cp: await freePort(), gw: await freePort(), api: await freePort() };
    stack = await testStack({ ports: { gateway: ports.gw, controlPlane: ports.cp }, gatewayBindings: { ORIGIN_SECRET }, cloudflareApi: { port: ports.api, token: CF_TOKEN } });
  });
  afterAll(() => stack?.dispose());

  it("a trainer writing to Upstash refuses to start, and says why", async () => {
    const t = await trainerWith({ VERGE_ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: "upstash-token" }, ports.cp, ports.gw);
    expect(await t.exited).toBe(1);
    expect(t.output()).toContain("reads online features from kv but this trainer writes to upstash");
  });

  it("a trainer writing to another KV namespace refuses to start", async () => {
    const t = await trainerWith({ ...kvEnv(ports.api, namespace("SNAPSHOT_CACHE")), VERGE_ONLINE_STORE_CHECK_MS: "1500" }, ports.cp, ports.gw);
    expect(await t.exited).toBe(1);
    expect(t.output()).toMatch(/does not read what this trainer writes .* same KV namespace/);
  });

  it("a trainer with a different origin secret refuses to start, and one with an incomplete configuration names what is missing", async () => {
    const wrongSecret = await trainerWith({ ...kvEnv(ports.api, namespace("FEATURES")), VERGE_ORIGIN_SECRET: "another-secret-0123456789abcdef" }, ports.cp, ports.gw);
    expect(await wrongSecret.exited).toBe(1);
    expect(wrongSecret.output()).toMatch(/refused the probe: signature: bad signature/);
    const incomplete = await trainerWith({ VERGE_ONLINE_STORE: "kv", VERGE_GATEWAY_URL: "" }, ports.cp, ports.gw);
    expect(await incomplete.exited).toBe(1);
    expect(incomplete.output()).toMatch(/CLOUDFLARE_ACCOUNT_ID: VERGE_ONLINE_STORE=kv needs CLOUDFLARE_ACCOUNT_ID/);
  });

  it("a trainer writing to the gateway's FEATURES namespace starts", async () => {
    const t = await trainerWith(kvEnv(ports.api, namespace("FEATURES")), ports.cp, ports.gw);
    await t.ready;
    expect(t.output()).toContain("online store kv, checked against");
  });
});

describe("Upstash for both", () => {
  it("the trainer starts, and the features it materializes are the ones the gateway serves", async () => {
    await writeChurnData(join(dir, "offline"), { users: 50, events: 200 });
    const ports = { cp: await freePort(), gw: await freePort() };
    const stack = await testStack({
      ports: { gateway: ports.gw, controlPlane: ports.cp },
      // A deadline that a loaded test machine cannot miss: this is about where the values come from.
      gatewayBindings: { ORIGIN_SECRET, ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: "upstash-token", FEATURE_DEADLINE_MS: "1000" },
    });
    try {
      const t = await trainerWith({ VERGE_ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: "upstash-token" }, ports.cp, ports.gw);
      await t.ready;
      const res = await fetch(`${t.url}/v1/materialize`, {
        method: "POST",
        headers: { authorization: "Bearer trainer-token-0123456789abcdef", "content-type": "application/json" },
        body: JSON.stringify({ views: [{ name: "user_activity", path: "churn/user_activity.parquet", entity: "user_id" }] }),
      });
      expect(res.status).toBe(200);
      // A model whose features come from that view: served with no defaulted feature.
      await stack.admin.ok("POST", "/v1/models", { name: "churn", task: "binary_classification" });
      const width = inputWidth(CHURN_SPEC);
      const v = await stack.admin.uploadVersion("churn", logisticRegressionModel(Array.from({ length: width }, () => 0.1), 0), {
        runtime: "edge",
        inputs: [{ name: "input", shape: [-1, width], datatype: "FP32" }],
        outputs: [{ name: "probability", shape: [-1, 1], datatype: "FP32" }],
        feature_spec: CHURN_SPEC,
        metrics: {},
        lineage: { code_version: "test" },
      });
      await stack.admin.ok("PUT", "/v1/models/churn/deployment", { variants: [{ name: "main", version: v.version, weight: 10000 }] });
      await stack.admin.ok("POST", "/v1/keys", { name: "churn", models: ["churn"], key: CLIENT_KEY });
      const served = (await (await stack.predict("churn", { unit: "u1", entities: { user_id: "u1" }, features: { plan: "pro", is_member: true } })).json()) as { degraded?: unknown[] };
      expect(served.degraded ?? []).toEqual([]);
    } finally {
      await stack.dispose();
    }
  });
});
