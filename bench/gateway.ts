// Gateway figures: predict with features from the request vs from Redis (through the Upstash
// bridge), shadows on vs off, and a cold isolate's first request vs a warm one.
import autocannon from "autocannon";
import { onlineKey, randomToken, type FeatureSpec } from "@verge/shared";
import { upstashStore } from "@verge/shared/online-store/upstash";
import { logisticRegressionModel, mlpModel } from "@verge/shared/onnx/writer";
import { controlPlaneClient } from "@verge/client";
import { startRedis } from "../scripts/lib/redis-server.ts";
import { startStack, stackOptions } from "../scripts/lib/stack.ts";
import { startUpstashBridge } from "../scripts/lib/upstash-bridge.ts";
import { conditions, median, writeSection } from "./report.ts";

const CONNECTIONS = 16;
const SECONDS = 2;
const ROUNDS = 3;
const ENTITIES = 1000;
/** Shadows are compared at a fixed, unsaturated rate: response latency, not CPU headroom. */
const SHADOW_RATE = 300;
const ports = { gateway: 18807, controlPlane: 18808 };

const spec: FeatureSpec = {
  input: "input",
  views: [{ name: "user", entity: "user_id", max_age_s: 86_400 }],
  features: [
    { name: "clicks", type: "number", default: 0, view: "user" },
    { name: "visits", type: "number", default: 0, view: "user" },
    { name: "country", type: "categorical", vocabulary: ["ch", "de", "fr", "it"], default: "ch", view: "user" },
    { name: "is_member", type: "boolean", default: false },
  ],
};
const metadata = { runtime: "edge" as const, inputs: [{ name: "input", shape: [-1, 7] }], outputs: [{ name: "probability", shape: [-1, 1] }], feature_spec: spec };

type Run = { rps: number; p50: number; p99: number };

export async function benchGateway(): Promise<void> {
  const redis = await startRedis();
  const bridge = await startUpstashBridge({ redisUrl: redis.url, token: "bench" });
  const adminToken = randomToken("vadm");
  const gatewayToken = randomToken("vgw");
  const clientKey = randomToken("vk");
  const options = { adminToken, gatewayToken, ports, snapshotTtlMs: 1000, gatewayBindings: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: "bench" } };
  const stack = await startStack(options);
  const admin = controlPlaneClient({ baseUrl: `http://127.0.0.1:${ports.controlPlane}`, token: adminToken });
  try {
    await admin.ok("POST", "/v1/models", { name: "ctr", task: "binary_classification" });
    const v1 = await admin.uploadVersion("ctr", logisticRegressionModel([0.01, 0.02, 0.1, -0.1, 0.2, 0, 0.5], -1), metadata);
    const hidden = 32;
    const v2 = await admin.uploadVersion("ctr", mlpModel([{ weights: Array.from({ length: 7 * hidden }, (_, i) => Math.sin(i) * 0.3), bias: Array(hidden).fill(0.01) }, { weights: Array.from({ length: hidden }, (_, i) => Math.cos(i) * 0.2), bias: [0] }], "sigmoid"), metadata);
    const deploy = (shadow: boolean) => admin.ok("PUT", "/v1/models/ctr/deployment", { variants: [{ name: "main", version: v1.version, weight: 10000 }], shadows: shadow ? [{ version: v2.version, rate: 10000 }] : [] });
    await deploy(false);
    await admin.ok("POST", "/v1/keys", { name: "bench", models: ["ctr"], key: clientKey });
    const store = upstashStore({ url: bridge.url, token: "bench" });
    const now = Date.now();
    for (let i = 0; i < ENTITIES; i += 100) {
      await store.putMany(Array.from({ length: 100 }, (_, j) => ({ key: onlineKey("user", `u${i + j}`), row: { ts: now, values: { clicks: (i + j) % 50, visits: (i + j) % 7, country: ["ch", "de", "fr", "it"][(i + j) % 4]! } } })));
    }

    const url = `http://127.0.0.1:${ports.gateway}/v1/models/ctr/predict`;
    const load = async (body: () => unknown, rate?: number): Promise<Run> => {
      const r = await autocannon({
        url,
        method: "POST",
        connections: rate ? 4 : CONNECTIONS,
        duration: SECONDS,
        ...(rate ? { overallRate: rate } : {}),
        headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json" },
        requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify(body()) }) }],
      } as unknown as autocannon.Options);
      if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx and ${r.errors} errors`);
      return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
    };
    const entity = () => `u${Math.floor(Math.random() * ENTITIES)}`;
    const fromRequest = () => ({ unit: entity(), features: { clicks: 12, visits: 3, country: "de", is_member: true } });
    const fromRedis = () => ({ unit: entity(), entities: { user_id: entity() }, features: { is_member: true } });
    const settle = () => new Promise((r) => setTimeout(r, 1500));

    await load(fromRequest); // warm
    const features = { request: [] as Run[], redis: [] as Run[] };
    for (let i = 0; i < ROUNDS; i++) {
      features.request.push(await load(fromRequest));
      await settle();
      features.redis.push(await load(fromRedis));
      await settle();
    }
    const shadows = { off: [] as Run[], on: [] as Run[] };
    for (let i = 0; i < ROUNDS; i++) {
      await deploy(false);
      await settle();
      shadows.off.push(await load(fromRequest, SHADOW_RATE));
      await deploy(true);
      await settle();
      shadows.on.push(await load(fromRequest, SHADOW_RATE));
    }
    await deploy(false);

    // Cold isolate: restart workerd (same state) and time the first predict, then warm ones.
    const cold: number[] = [];
    const warm: number[] = [];
    const once = async () => {
      const t0 = performance.now();
      const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${clientKey}` }, body: JSON.stringify(fromRequest()) });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`predict answered ${res.status}`);
      return performance.now() - t0;
    };
    for (let i = 0; i < 5; i++) {
      await stack.mf.setOptions(stackOptions(options));
      cold.push(await once());
      const w: number[] = [];
      for (let j = 0; j < 20; j++) w.push(await once());
      warm.push(median(w));
    }

    const row = (name: string, xs: Run[]) => `| ${name} | ${median(xs.map((x) => x.rps)).toFixed(0)} | ${median(xs.map((x) => x.p50)).toFixed(1)} | ${median(xs.map((x) => x.p99)).toFixed(1)} |`;
    writeSection(
      "gateway",
      `## Gateway: online features, shadows, cold isolates

| scenario | req/s | p50 ms | p99 ms |
|---|---|---|---|
${row("features from the request", features.request)}
${row("features from Redis (Upstash REST → bridge → redis-server)", features.redis)}
${row(`shadows off, fixed ${SHADOW_RATE} req/s`, shadows.off)}
${row(`shadow on (MLP 7-32-1 on every request), fixed ${SHADOW_RATE} req/s`, shadows.on)}

| isolate | first predict (median of 5) | warm predict (median) |
|---|---|---|
| cold (workerd restarted, snapshot and KV state kept) | ${median(cold).toFixed(0)} ms | ${median(warm).toFixed(1)} ms |

autocannon, ${CONNECTIONS} connections, ${SECONDS} s per round, ${ROUNDS} alternating rounds per pair, medians; gateway on workerd's own socket; model: logistic regression over 7 columns with 3 features from the \`user\` view (${ENTITIES} entities, random per request). The Redis path adds one MGET over HTTP to the bridge (Node) and RESP to redis-server, all on this machine. Shadows run after the response (\`waitUntil\`); they are compared at a fixed ${SHADOW_RATE} req/s (4 connections) so the machine is not saturated and the figures show response latency, not the CPU the shadow also uses on these 2 shared cores. A cold isolate's first predict includes the snapshot fetch, onnxruntime-web's runtime start and the session creation.
${conditions()}`,
    );
  } finally {
    await stack.dispose();
    await bridge.close();
    await redis.stop();
  }
}
