// The origin closed: every route but the health probes needs the gateway's signature (host and
// nonce signed, a replay refused), bodies are limited before they are read, only `origin`
// versions load, sessions live in an LRU under a memory budget, and the batch queue is bounded
// and drops requests nobody waits for. Over the real control plane (miniflare) and onnxruntime-node.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signOriginRequest } from "@verge/shared";
import { onError } from "@verge/shared/http";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { loadConfig } from "../src/config.ts";
import { buildOrigin } from "../src/server.ts";
import { alertHook, ALERT_BODY_LIMIT, PlaybookStore } from "../src/playbook/playbook.ts";
import { demoMetadata } from "../../scripts/lib/demo.ts";
import { ADMIN_TOKEN, eventually, type TestStack } from "../../test/helpers.ts";
import { oipErrorOf } from "../../test/oip-protocol.ts";
import { CHURN_WEIGHTS, churnRegistry } from "./churn-registry.ts";

const SECRET = "origin-secret-0123456789abcdef";
const W = CHURN_WEIGHTS;
const ROW = [1, 2, 1, 0, 0, 1];
let stack: TestStack;
let cpUrl: string;
/** Four origin versions of equal size (same graph, other bias), and one edge version. */
let sizeOf: number;
let edgeVersion: number;
beforeAll(async () => {
  let sizes: number[];
  ({ stack, cpUrl, sizes } = await churnRegistry([0.1, 0.2, 0.3, 0.4]));
  sizeOf = sizes.at(-1)!;
  edgeVersion = (await stack.admin.uploadVersion("churn", logisticRegressionModel(W, 0.5), { ...demoMetadata("lr"), runtime: "edge" })).version;
});
afterAll(() => stack?.dispose());

const config = (env: Record<string, string> = {}) => loadConfig({ VERGE_CONTROL_PLANE_URL: cpUrl, VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN, VERGE_ORIGIN_SECRET: SECRET, VERGE_EXECUTION_PROVIDER: "cpu", ...env });
type App = ReturnType<typeof buildOrigin>["app"];

/** A request signed as the gateway signs it; `app.request` addresses host `localhost`. */
async function signed(app: App, path: string, init: { method?: string; body?: string; host?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  const method = init.method ?? "GET";
  const body = init.body ?? "";
  const sig = await signOriginRequest(SECRET, method, `http://${init.host ?? "localhost"}${path}`, body);
  return app.request(path, { method, headers: { "content-type": "application/json", ...sig, ...init.headers }, ...(method === "GET" ? {} : { body }), ...(init.signal ? { signal: init.signal } : {}) });
}
const inferBody = (rows: number[][]) => JSON.stringify({ inputs: [{ name: "input", shape: [rows.length, 6], datatype: "FP32", data: rows }] });
const infer = (app: App, version = 1, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}) => signed(app, `/v2/models/churn/versions/${version}/infer`, { method: "POST", body: inferBody([ROW]), ...init });
const scrape = async (app: App) => (await signed(app, "/metrics")).text();
const metric = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("the origin's signature", () => {
  it("is required on every route but health: unsigned metadata, readiness and /metrics are refused without loading anything", async () => {
    const { app, services } = buildOrigin(config());
    for (const path of ["/v2", "/v2/models/churn/versions/1", "/v2/models/churn/versions/1/ready", "/metrics"]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(401);
    }
    expect((await oipErrorOf(await app.request("/v2/models/churn/versions/1/ready"))).message).toMatch(/^signature: missing signature headers/);
    expect(services.models.loaded()).toBe(0);
    expect((await app.request("/v2/health/live")).status).toBe(200);
    expect((await signed(app, "/v2/models/churn/versions/1/ready")).status).toBe(200);
    expect(services.models.loaded()).toBe(1);
  });

  it("covers the host and a nonce: a request signed for another node, or replayed inside the window, is refused", async () => {
    const { app } = buildOrigin(config());
    expect((await signed(app, "/v2", { host: "origin-b.internal:8789" })).status).toBe(401);
    const path = "/v2/models/churn/versions/1/infer";
    const body = inferBody([ROW]);
    const headers = { "content-type": "application/json", ...(await signOriginRequest(SECRET, "POST", `http://localhost${path}`, body)) };
    expect((await app.request(path, { method: "POST", headers, body })).status).toBe(200);
    const replay = await app.request(path, { method: "POST", headers, body });
    expect(replay.status).toBe(401);
    expect((await oipErrorOf(replay)).message).toMatch(/x-verge-nonce already used/);
    // Counted once: the replay never reached the model.
    expect(metric(await scrape(app), 'verge_origin_requests_total{model="churn",version="1",status="200"}')).toBe(1);
  });

  it("/metrics also takes VERGE_METRICS_TOKEN as a bearer token, and nothing else", async () => {
    const { app } = buildOrigin(config({ VERGE_METRICS_TOKEN: "metrics-token-0123456789" }));
    expect((await app.request("/metrics", { headers: { authorization: "Bearer metrics-token-0123456789" } })).status).toBe(200);
    expect((await app.request("/metrics", { headers: { authorization: "Bearer metrics-token-wrong-000" } })).status).toBe(401);
    // The token opens /metrics only.
    expect((await app.request("/v2", { headers: { authorization: "Bearer metrics-token-0123456789" } })).status).toBe(401);
  });

  it("remembers nonces in a bounded memory: past its capacity, signed requests are refused with 503 until nonces expire", async () => {
    const { app, services } = buildOrigin(config({ VERGE_ORIGIN_NONCE_CAPACITY: "100" }));
    for (let i = 0; i < 100; i++) expect((await signed(app, "/v2")).status).toBe(200);
    const full = await signed(app, "/v2");
    expect(full.status).toBe(503);
    expect(full.headers.get("retry-after")).toBe("1");
    expect(services.nonces.size()).toBe(100);
    // Once the window has passed, the old nonces are forgotten and room returns.
    expect(services.nonces.remember("0".repeat(32), Date.now(), Date.now() + 31_000)).toBe("fresh");
    expect(services.nonces.size()).toBe(1);
  });
});

describe("request bodies", () => {
  /** A body of `chunks` × 64 KiB, produced only as it is read; `pulled` counts what was read. */
  const stream = (chunks: number) => {
    const counter = { pulled: 0 };
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (counter.pulled >= chunks) return controller.close();
        counter.pulled++;
        controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
    });
    return { body, counter };
  };

  it("infer: a Content-Length over the limit is refused with 413 in the error shape before anything is read", async () => {
    const { app } = buildOrigin(config({ VERGE_ORIGIN_MAX_BODY_BYTES: String(256 * 1024) }));
    const { body, counter } = stream(1024);
    const res = await app.request("/v2/models/churn/versions/1/infer", { method: "POST", headers: { "content-length": String(64 * 1024 * 1024) }, body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await oipErrorOf(res)).toEqual({ code: "payload_too_large", message: `body: larger than ${256 * 1024} bytes` });
    expect(counter.pulled).toBeLessThanOrEqual(1);
  });

  it("infer: a streamed body (no Content-Length) is read only up to the limit, then refused with 413", async () => {
    const { app } = buildOrigin(config({ VERGE_ORIGIN_MAX_BODY_BYTES: String(256 * 1024) }));
    const { body, counter } = stream(1024);
    const res = await app.request("/v2/models/churn/versions/1/infer", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect((await oipErrorOf(res)).code).toBe("payload_too_large");
    // 64 MiB offered; at most the limit (4 chunks) plus the stream's read-ahead was read.
    expect(counter.pulled).toBeLessThanOrEqual(8);
  });

  it("/hooks/alerts: a body over its limit is refused with 413 in the shared shape, streamed or not", async () => {
    const store = new PlaybookStore(mkdtempSync(join(tmpdir(), "verge-hook-")));
    store.state.webhook = { id: "wh_1", secret: "webhook-secret-0123456789", url: "http://trainer/hooks/alerts" };
    // Neither the registry nor the job runner is reached by a refused body.
    // Mounted as the trainer mounts it: the shared error handler answers for it.
    const hook = new Hono().route("/", alertHook(store, undefined as never, undefined as never)).onError(onError);
    const { body, counter } = stream(1024);
    const res = await hook.request("/", { method: "POST", body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: "payload_too_large", message: `body: larger than ${ALERT_BODY_LIMIT} bytes`, details: { limit_bytes: ALERT_BODY_LIMIT } } });
    expect(counter.pulled).toBeLessThanOrEqual(ALERT_BODY_LIMIT / 65_536 + 4);
    const declared = await hook.request("/", { method: "POST", headers: { "content-length": String(ALERT_BODY_LIMIT + 1) }, body: "x".repeat(ALERT_BODY_LIMIT + 1) });
    expect(declared.status).toBe(413);
  });
});

describe("which versions load, and for how long", () => {
  it("loads only origin versions: an edge version is 409 and its artifact is never fetched; an unknown one is 404", async () => {
    const { app, services } = buildOrigin(config());
    const edge = await signed(app, `/v2/models/churn/versions/${edgeVersion}/ready`);
    expect(edge.status).toBe(409);
    expect((await oipErrorOf(edge)).message).toBe(`churn v${edgeVersion} is deployed to the edge, not the origin`);
    expect((await signed(app, `/v2/models/churn/versions/${edgeVersion}/infer`, { method: "POST", body: inferBody([ROW]) })).status).toBe(409);
    expect((await signed(app, "/v2/models/churn/versions/999/ready")).status).toBe(404);
    expect((await signed(app, "/v2/models/nope/versions/1")).status).toBe(404);
    expect(services.models.loaded()).toBe(0);
    expect(services.models.bytes()).toBe(0);
  });

  it("evicts the least recently used session once loading another would pass the memory budget, and memory stays within it", async () => {
    // Room for two of the four equal-sized versions.
    const budgetMb = (sizeOf * 2.5) / (1024 * 1024);
    const { app, services } = buildOrigin(config({ VERGE_MODEL_MEMORY_MB: String(budgetMb) }));
    const ready = async (v: number) => expect((await signed(app, `/v2/models/churn/versions/${v}/ready`)).status).toBe(200);
    await ready(1);
    await ready(2);
    expect(services.models.keys()).toEqual(["churn@1", "churn@2"]);
    const predict = async (v: number) => {
      const res = await infer(app, v);
      expect(res.status).toBe(200);
    };
    await predict(1); // 1 is now the most recently used
    await ready(3);
    expect(services.models.keys()).toEqual(["churn@1", "churn@3"]);
    for (const v of [4, 2, 1, 3, 4, 1]) {
      await predict(v);
      expect(services.models.bytes()).toBeLessThanOrEqual(services.models.budget);
      expect(services.models.loaded()).toBe(2);
    }
    const text = await scrape(app);
    expect(metric(text, "verge_origin_model_bytes")).toBe(2 * sizeOf);
    expect(metric(text, "verge_origin_models_loaded")).toBe(2);
    // 3 evicted by 4, 4 by 2, 2 by 1... every load past the first two evicted one.
    expect(metric(text, "verge_origin_model_evictions_total")).toBeGreaterThanOrEqual(5);
    // An evicted version reloads on demand and answers the same.
    await predict(2);
  });

  it("refuses a version larger than the whole budget with 409, loading nothing", async () => {
    const { app, services } = buildOrigin(config({ VERGE_MODEL_MEMORY_MB: String(sizeOf / 2 / (1024 * 1024)) }));
    const res = await signed(app, "/v2/models/churn/versions/1/ready");
    expect(res.status).toBe(409);
    expect((await oipErrorOf(res)).message).toMatch(/exceeds this origin's model memory budget/);
    expect(services.models.loaded()).toBe(0);
  });
});

describe("the batch queue", () => {
  // A long queue delay, so requests wait in the queue until the batch fills or a second passes.
  const queued = (env: Record<string, string> = {}) => buildOrigin(config({ VERGE_BATCHING: '{"churn":{"max_batch_size":32,"max_queue_delay_ms":1000}}', ...env }));
  const ready = async (app: App) => expect((await signed(app, "/v2/models/churn/versions/1/ready")).status).toBe(200);

  it("is bounded: past VERGE_MAX_QUEUED_REQUESTS a request is refused with 503, Retry-After and the error shape, and counted", async () => {
    const { app, services } = queued({ VERGE_MAX_QUEUED_REQUESTS: "2" });
    await ready(app);
    const waiting = [infer(app), infer(app)];
    await eventually(async () => (services.batches.admitted() === 2 ? true : undefined), 5000, 5);
    const refused = await infer(app);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await oipErrorOf(refused)).message).toMatch(/queue is full \(2 requests\)/);
    for (const res of await Promise.all(waiting)) expect(res.status).toBe(200);
    const text = await scrape(app);
    expect(metric(text, 'verge_origin_dropped_requests_total{model="churn",reason="queue_full"}')).toBe(1);
    expect(metric(text, 'verge_origin_batch_rows_sum{model="churn",version="1"}')).toBe(2);
  });

  it("drops, unrun, a request whose gateway deadline passed while it waited, and one whose caller left", async () => {
    const { app, services } = queued();
    await ready(app);
    const late = infer(app, 1, { headers: { "x-verge-deadline-ms": "500" } });
    const leaving = new AbortController();
    const left = infer(app, 1, { signal: leaving.signal });
    const kept = infer(app);
    await eventually(async () => (services.batches.admitted() === 3 ? true : undefined), 5000, 5);
    leaving.abort();
    const [lateRes, leftRes, keptRes] = await Promise.all([late, left, kept]);
    expect(lateRes.status).toBe(503);
    expect((await oipErrorOf(lateRes)).message).toMatch(/deadline passed before it ran/);
    expect(leftRes.status).toBe(503);
    expect(keptRes.status).toBe(200);
    const text = await scrape(app);
    expect(metric(text, 'verge_origin_dropped_requests_total{model="churn",reason="deadline"}')).toBe(1);
    expect(metric(text, 'verge_origin_dropped_requests_total{model="churn",reason="disconnected"}')).toBe(1);
    // Only the one request still wanted was run.
    expect(metric(text, 'verge_origin_batch_rows_sum{model="churn",version="1"}')).toBe(1);
  });

  it("refuses a malformed deadline header with 400 naming it", async () => {
    const { app } = buildOrigin(config());
    const res = await infer(app, 1, { headers: { "x-verge-deadline-ms": "soon" } });
    expect(res.status).toBe(400);
    expect((await oipErrorOf(res)).message).toMatch(/^x-verge-deadline-ms/);
  });
});
