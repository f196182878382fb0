// Heavy-model serving on the origin: the dynamic batcher against real onnxruntime-node sessions,
// and the HTTP app (metrics, readiness, model metadata, signed infer) over the real control plane.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { ApiError, sha256Hex, signOriginRequest } from "@verge/shared";
import { conforms, oipErrorOf, protocol } from "../../test/oip-protocol.ts";
import { logisticRegressionModel, mlpModel } from "@verge/shared/onnx/writer";
import { loadConfig } from "../src/config.ts";
import { buildOrigin, startOrigin } from "../src/server.ts";
import { batcher, type BatchPolicy, type BatchSession, type Feeds } from "../src/serving/batcher.ts";
import { freePort } from "../../scripts/lib/redis-server.ts";
import { CHURN_WEIGHTS, churnRegistry } from "./churn-registry.ts";
import { ADMIN_TOKEN, artifactKeyOf, eventually, type TestStack } from "../../test/helpers.ts";

const SECRET = "origin-secret-0123456789abcdef";
const WIDTH = 6;
const random = (seed: number) => () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const rand = random(7);
const mlp = mlpModel(
  [
    { weights: Array.from({ length: WIDTH * 16 }, rand), bias: Array.from({ length: 16 }, rand) },
    { weights: Array.from({ length: 16 * 3 }, rand), bias: Array.from({ length: 3 }, rand) },
  ],
  "none",
);

/** A real session behind a wrapper that counts runs and their rows, and can be told to fail. */
async function countedSession(fail?: (feeds: Feeds) => boolean) {
  const session = await ort.InferenceSession.create(mlp, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  const runs: number[] = [];
  const counted: BatchSession & { runs: number[]; alone: (f: Feeds) => Promise<Float32Array> } = {
    inputNames: session.inputNames,
    inputMetadata: session.inputMetadata,
    runs,
    async run(feeds) {
      runs.push(feeds.input!.dims[0]!);
      if (fail?.(feeds)) throw new Error("the runtime refused this batch");
      return session.run(feeds);
    },
    alone: async (f) => (await session.run(f)).prediction!.data as Float32Array,
  };
  return counted;
}

const rowsOf = (rows: number, seed: number): Feeds => {
  const r = random(seed);
  return { input: new ort.Tensor("float32", Float32Array.from({ length: rows * WIDTH }, r), [rows, WIDTH]) };
};
const policy = (maxBatchSize: number, maxQueueDelayMs: number) => (): BatchPolicy => ({ maxBatchSize, maxQueueDelayMs });

describe("dynamic batching", () => {
  it("merges concurrent requests into fewer runs, each getting exactly its own outputs", async () => {
    const session = await countedSession();
    const batches = batcher(policy(64, 5));
    const requests = [1, 3, 2, 5, 1, 1, 4, 2, 7, 1, 3, 1].map((rows, i) => rowsOf(rows, i + 1));
    const outputs = await Promise.all(requests.map((feeds) => batches.infer({ model: "m", version: 1, session }, feeds)));
    expect(session.runs.length).toBeLessThan(requests.length);
    for (const [i, feeds] of requests.entries()) {
      const out = outputs[i]!.prediction!;
      expect(out.dims).toEqual([feeds.input!.dims[0], 3]);
      const alone = await session.alone(feeds);
      Array.from(out.data as Float32Array).forEach((v, j) => expect(Math.abs(v - alone[j]!)).toBeLessThan(1e-6));
    }
  });

  it("never runs more rows than the max batch size, and runs a larger request alone", async () => {
    const session = await countedSession();
    const batches = batcher(policy(8, 50));
    const requests = [3, 3, 3, 3, 3, 3, 20, 2].map((rows, i) => rowsOf(rows, 100 + i));
    const outputs = await Promise.all(requests.map((feeds) => batches.infer({ model: "m", version: 1, session }, feeds)));
    expect(session.runs.filter((rows) => rows !== 20).every((rows) => rows <= 8)).toBe(true);
    expect(session.runs).toContain(20);
    for (const [i, feeds] of requests.entries()) expect(Array.from(outputs[i]!.prediction!.data as Float32Array)).toEqual(Array.from(await session.alone(feeds)));
  });

  it("flushes a lone request after the queue delay", async () => {
    const session = await countedSession();
    const batches = batcher(policy(64, 40));
    const t0 = performance.now();
    await batches.infer({ model: "m", version: 1, session }, rowsOf(1, 5));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    expect(session.runs).toEqual([1]);
  });

  it("runs every request alone when batching is off (max batch size 1)", async () => {
    const session = await countedSession();
    const batches = batcher(policy(1, 5));
    await Promise.all([1, 1, 1, 1].map((rows, i) => batches.infer({ model: "m", version: 1, session }, rowsOf(rows, i))));
    expect(session.runs).toEqual([1, 1, 1, 1]);
  });

  it("refuses a badly shaped request before it joins a batch, and its neighbours are served", async () => {
    const session = await countedSession();
    const batches = batcher(policy(64, 5));
    const bad = { input: new ort.Tensor("float32", new Float32Array(10), [2, 5]) };
    const results = await Promise.allSettled([rowsOf(2, 1), bad, rowsOf(1, 2)].map((feeds) => batches.infer({ model: "m", version: 1, session }, feeds)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const reason = (results[1] as PromiseRejectedResult).reason as ApiError;
    expect(reason).toBeInstanceOf(ApiError);
    expect(reason.message).toMatch(/inputs\.input: shape \[2, 5\] does not fit the model's \[N, 6\]/);
    expect(session.runs).toEqual([3]);
  });

  it("when a merged run fails, retries each request alone so only the one at fault fails", async () => {
    const poisoned = (feeds: Feeds) => (feeds.input!.data as Float32Array).includes(999);
    const session = await countedSession(poisoned);
    const batches = batcher(policy(64, 5));
    const bad = rowsOf(1, 3);
    (bad.input!.data as Float32Array)[0] = 999;
    const results = await Promise.allSettled([rowsOf(1, 1), bad, rowsOf(2, 2)].map((feeds) => batches.infer({ model: "m", version: 1, session }, feeds)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(((results[1] as PromiseRejectedResult).reason as Error).message).toMatch(/refused this batch/);
    expect(session.runs).toEqual([4, 1, 1, 2]);
  });

  it("falls back to single runs when an output does not follow the batch dimension", async () => {
    const inner = await countedSession();
    // A model with an extra whole-batch output (a sum over rows) cannot be split by rows.
    const session: BatchSession = {
      ...inner,
      async run(feeds) {
        const out = await inner.run(feeds);
        return { ...out, total: new ort.Tensor("float32", Float32Array.of((out.prediction!.data as Float32Array).reduce((a, b) => a + b, 0)), [1]) };
      },
    };
    const batches = batcher(policy(64, 5));
    const requests = [rowsOf(1, 1), rowsOf(2, 2)];
    const outputs = await Promise.all(requests.map((feeds) => batches.infer({ model: "m", version: 1, session }, feeds)));
    expect(inner.runs).toEqual([3, 1, 2]);
    for (const [i, feeds] of requests.entries()) expect(Array.from(outputs[i]!.prediction!.data as Float32Array)).toEqual(Array.from(await inner.alone(feeds)));
    await Promise.all(requests.map((feeds) => batches.infer({ model: "m", version: 1, session }, feeds)));
    expect(inner.runs).toEqual([3, 1, 2, 1, 2]);
  });
});

// The origin app over the real control plane (in miniflare, on its own port): models and their
// artifacts come from the registry, verified by sha256.
const W = CHURN_WEIGHTS;
const lr = logisticRegressionModel(W, 0.3);
let stack: TestStack;
let cpUrl: string;
beforeAll(async () => {
  // Version 1 serves; version 2's stored bytes are swapped behind the registry's back below.
  ({ stack, cpUrl } = await churnRegistry([0.3, -0.3]));
});
afterAll(() => stack?.dispose());
const config = (env: Record<string, string> = {}) =>
  loadConfig({ VERGE_CONTROL_PLANE_URL: cpUrl, VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN, VERGE_ORIGIN_SECRET: SECRET, VERGE_EXECUTION_PROVIDER: "cpu", VERGE_BATCHING: '{"churn":{"max_batch_size":32,"max_queue_delay_ms":5}}', ...env });
const expected = (x: number[]) => 1 / (1 + Math.exp(-x.reduce((s, v, i) => s + v * W[i]!, 0.3)));

type App = { request: (path: string, init?: RequestInit) => Response | Promise<Response> };
/** A request signed as the gateway signs it (`app.request` addresses host `localhost`). */
async function signed(app: App, path: string, init: { method?: string; body?: string; secret?: string } = {}) {
  const method = init.method ?? "GET";
  const body = init.body ?? "";
  const headers = { "content-type": "application/json", ...(await signOriginRequest(init.secret ?? SECRET, method, `http://localhost${path}`, body)) };
  return app.request(path, { method, headers, ...(method === "GET" ? {} : { body }) });
}
async function signedInfer(app: App, rows: number[][], secret = SECRET, version = 1) {
  const body = JSON.stringify({ inputs: [{ name: "input", shape: [rows.length, WIDTH], datatype: "FP32", data: rows }] });
  return signed(app, `/v2/models/churn/versions/${version}/infer`, { method: "POST", body, secret });
}
const metricValue = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("the origin app", () => {
  it("parses per-model batching overrides from VERGE_BATCHING", () => {
    expect(config().VERGE_BATCHING).toEqual({ churn: { max_batch_size: 32, max_queue_delay_ms: 5 } });
    expect(() => config({ VERGE_BATCHING: "{nope" })).toThrow(/VERGE_BATCHING: must be a JSON object/);
    expect(() => config({ VERGE_BATCHING: '{"Churn!":{"max_batch_size":8}}' })).toThrow(/VERGE_BATCHING/);
    expect(() => config({ VERGE_BATCHING: '{"churn":{"max_batch":8}}' })).toThrow(/VERGE_BATCHING/);
    expect(() => config({ VERGE_BATCHING: '{"churn":{"max_batch_size":0}}' })).toThrow(/VERGE_BATCHING\.churn\.max_batch_size/);
  });

  it("is ready only between start and drain", async () => {
    const { app, services } = buildOrigin(config());
    expect((await app.request("/v2/health/ready")).status).toBe(503);
    services.readiness.state = "ready";
    expect(await (await app.request("/v2/health/ready")).json()).toEqual({ ready: true });
    services.readiness.state = "draining";
    const res = await app.request("/v2/health/ready");
    expect(res.status).toBe(503);
    expect((await oipErrorOf(res)).code).toBe("unavailable");
  });

  it("answers server, model readiness and metadata as the protocol documents them, and 404 in its error shape for unknown models", async () => {
    const { app } = buildOrigin(config());
    expect(await conforms(await signed(app, "/v2"), protocol.serverMetadata)).toEqual({ name: "verge-origin", version: "1", extensions: [] });
    expect(await (await signed(app, "/v2/models/churn/versions/1/ready")).json()).toEqual({ name: "churn", ready: true });
    expect(await conforms(await signed(app, "/v2/models/churn/versions/1"), protocol.modelMetadata)).toEqual({
      name: "churn",
      versions: ["1"],
      platform: "onnxruntime",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, WIDTH] }],
      outputs: [{ name: "probability", datatype: "FP32", shape: [-1, 1] }],
    });
    const missing = await signed(app, "/v2/models/other/versions/3/ready");
    expect(missing.status).toBe(404);
    expect((await oipErrorOf(missing)).code).toBe("not_found");
    expect((await oipErrorOf(await signed(app, "/v2/no/such/route"))).code).toBe("not_found");
  });

  it("batches signed infer requests and counts them in /metrics", async () => {
    const { app } = buildOrigin(config());
    const inputs = Array.from({ length: 8 }, (_, i) => [i, 2, 1, 0, 0, 1]);
    const responses = await Promise.all(inputs.map((x) => signedInfer(app, [x])));
    for (const [i, res] of responses.entries()) {
      expect(res.status).toBe(200);
      const body = await conforms(res, protocol.inferenceResponse);
      expect(body.outputs[0]!.shape).toEqual([1, 1]);
      expect(body.outputs[0]!.data[0]).toBeCloseTo(expected(inputs[i]!), 6);
    }
    const refused = await signedInfer(app, [[1, 2, 3]]);
    expect(refused.status).toBe(400);
    expect((await oipErrorOf(refused)).code).toBe("bad_request");
    const unsigned = await signedInfer(app, [inputs[0]!], "another-secret-0123456789");
    expect(unsigned.status).toBe(401);
    expect((await oipErrorOf(unsigned)).message).toMatch(/signature/);

    const res = await signed(app, "/metrics");
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(metricValue(text, 'verge_origin_requests_total{model="churn",version="1",status="200"}')).toBe(8);
    expect(metricValue(text, 'verge_origin_requests_total{model="churn",version="1",status="400"}')).toBe(1);
    // Refused before it is counted: unsigned callers mint no series.
    expect(text).not.toMatch(/status="401"/);
    expect(metricValue(text, 'verge_origin_request_duration_seconds_count{model="churn",version="1"}')).toBe(9);
    const runs = metricValue(text, 'verge_origin_batch_rows_count{model="churn",version="1"}')!;
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThan(8);
    expect(metricValue(text, 'verge_origin_batch_rows_sum{model="churn",version="1"}')).toBe(8);
    expect(metricValue(text, 'verge_origin_queue_delay_seconds_count{model="churn",version="1"}')).toBe(8);
    expect(metricValue(text, 'verge_origin_batch_fill_ratio_count{model="churn",version="1"}')).toBe(runs);
    // 8 rows in `runs` runs of at most 32 rows each.
    expect(metricValue(text, 'verge_origin_batch_fill_ratio_sum{model="churn",version="1"}')).toBeCloseTo(8 / 32, 6);
    expect(metricValue(text, "verge_origin_in_flight_requests")).toBe(0);
    expect(metricValue(text, 'verge_origin_queue_depth{model="churn"}')).toBe(0);
    expect(metricValue(text, "verge_origin_models_loaded")).toBe(1);
    expect(metricValue(text, 'verge_origin_execution_provider_info{model="churn",version="1",provider="cpu"}')).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
  });

  it("refuses an artifact whose bytes do not match the registry's sha256, and serves it once they do", async () => {
    const meta = await stack.admin.ok("GET", "/v1/models/churn/versions/2");
    const bucket = await stack.mf.getR2Bucket("ARTIFACTS", "verge-control-plane");
    const key = await artifactKeyOf(stack, meta.sha256);
    const genuine = new Uint8Array(await (await bucket.get(key))!.arrayBuffer());
    expect(await sha256Hex(genuine)).toBe(meta.sha256);
    // Storage now holds another (valid, runnable) model under version 2's key.
    await bucket.put(key, logisticRegressionModel(W, 5));
    const { app } = buildOrigin(config());
    try {
      for (const res of [await signedInfer(app, [[1, 2, 1, 0, 0, 1]], SECRET, 2), await signed(app, "/v2/models/churn/versions/2/ready")]) {
        expect(res.status).toBe(503);
        expect(await oipErrorOf(res)).toEqual({ code: "unavailable", message: "artifact of churn v2 failed verification (sha256 mismatch)" });
      }
    } finally {
      await bucket.put(key, genuine);
    }
    // The same origin loads it once the genuine bytes are back (a refused load is not cached).
    const res = await signedInfer(app, [[1, 2, 1, 0, 0, 1]], SECRET, 2);
    expect(res.status).toBe(200);
    const z = [1, 2, 1, 0, 0, 1].reduce((s, v, i) => s + v * W[i]!, -0.3);
    expect(((await res.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data[0]).toBeCloseTo(1 / (1 + Math.exp(-z)), 6);
  });

  it("shows requests waiting for a batch as queue depth and in-flight requests while they wait", async () => {
    // The longest queue delay allowed (1 s): the window in which the three requests are seen queued.
    const { app } = buildOrigin(config({ VERGE_BATCHING: '{"churn":{"max_batch_size":32,"max_queue_delay_ms":1000}}' }));
    // Loaded first, so the three requests below reach the queue together.
    expect((await signed(app, "/v2/models/churn/versions/1/ready")).status).toBe(200);
    const scrape = async () => {
      const text = await (await signed(app, "/metrics")).text();
      return { depth: metricValue(text, 'verge_origin_queue_depth{model="churn"}'), rows: metricValue(text, 'verge_origin_queue_rows{model="churn"}'), inFlight: metricValue(text, "verge_origin_in_flight_requests") };
    };
    const pending = [signedInfer(app, [[1, 2, 1, 0, 0, 1]]), signedInfer(app, [[2, 2, 1, 0, 0, 1], [3, 2, 1, 0, 0, 1]]), signedInfer(app, [[4, 2, 1, 0, 0, 1]])];
    const seen = await eventually(async () => {
      const now = await scrape();
      return now.depth === 3 ? now : undefined;
    }, 1000, 10);
    expect(seen).toEqual({ depth: 3, rows: 4, inFlight: 3 });
    for (const res of await Promise.all(pending)) expect(res.status).toBe(200);
    expect(await scrape()).toEqual({ depth: 0, rows: 0, inFlight: 0 });
  });

  it("listens, mounts extra routes, and drains on close", async () => {
    const { Hono } = await import("hono");
    const port = await freePort();
    const origin = await startOrigin(config({ PORT: String(port) }), { extraRoutes: [{ path: "/v1/jobs", app: new Hono().get("/", (c) => c.json({ jobs: [] })) }] });
    expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${port}/v1/jobs`)).json()).toEqual({ jobs: [] });
    expect((await fetch(`http://127.0.0.1:${port}/v1/nothing`)).status).toBe(404);
    await origin.close();
    expect(origin.services.readiness.state).toBe("draining");
    await expect(fetch(`http://127.0.0.1:${port}/v2/health/ready`)).rejects.toThrow();
  });

  it("refuses to start on a port already taken", async () => {
    const port = await freePort();
    const first = await startOrigin(config({ PORT: String(port) }));
    await expect(startOrigin(config({ PORT: String(port) }))).rejects.toThrow(/EADDRINUSE/);
    await first.close();
  });
});
