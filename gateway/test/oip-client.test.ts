// The gateway's origin client against request/response pairs recorded from the Open Inference
// Protocol's documentation (fixtures/oip, with their sources), served by a small HTTP server that
// checks each request against the spec's schemas — only documented fields — and answers the
// documented response. Nothing here comes from Verge's own origin.
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { featureSpecSchema, verifyOriginRequest, type SnapshotVersion } from "@verge/shared";
import { originRuntime } from "../src/inference/origin.ts";
import type { NodeAuth } from "../src/inference/oip-client.ts";
import { NodePool } from "../src/inference/pool.ts";
import type { ResolvedPool } from "../src/inference/pools.ts";

interface Pair {
  request: { method: string; path: string; body?: { inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[] } };
  response: { status: number; body: unknown };
}
const dir = join(import.meta.dirname, "fixtures/oip");
const fixture = (name: string) => JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as Pair;
type JsonSchema = { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; items?: JsonSchema; anyOf?: JsonSchema[]; $ref?: string };
const schemas = JSON.parse(readFileSync(join(dir, "spec-schemas.json"), "utf8")) as Record<string, JsonSchema>;

/** Checks `value` against a spec schema, closed: a field the spec does not document is an error. */
function conforms(value: unknown, schema: JsonSchema, at = "body"): string[] {
  if (schema.$ref) return conforms(value, schemas[schema.$ref]!, at);
  if (schema.anyOf) return schema.anyOf.some((s) => conforms(value, s, at).length === 0) ? [] : [`${at}: matches none of the allowed types`];
  const type = Array.isArray(value) ? "array" : value === null ? "null" : Number.isInteger(value) ? "integer" : typeof value;
  if (schema.type && !(schema.type === type || (schema.type === "number" && type === "integer"))) return [`${at}: expected ${schema.type}, got ${type}`];
  if (schema.type === "array") return (value as unknown[]).flatMap((v, i) => conforms(v, schema.items!, `${at}[${i}]`));
  if (schema.type === "object" && schema.properties) {
    const obj = value as Record<string, unknown>;
    return [
      ...(schema.required ?? []).filter((k) => !(k in obj)).map((k) => `${at}.${k}: required`),
      ...Object.keys(obj).filter((k) => !(k in schema.properties!)).map((k) => `${at}.${k}: not a field of the protocol`),
      ...Object.entries(obj).flatMap(([k, v]) => (schema.properties![k] ? conforms(v, schema.properties![k]!, `${at}.${k}`) : [])),
    ];
  }
  return [];
}

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
let server: Server;
let url: string;
let answer: Pair["response"];
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", headers: req.headers, body });
      let problems: string[];
      try {
        problems = conforms(JSON.parse(body), schemas.inference_request!);
      } catch {
        problems = ["body: not JSON"];
      }
      // A request the spec would not accept gets the spec's error shape, which the test then sees.
      const [status, out] = problems.length ? [400, { error: problems.join("; ") }] : [answer.status, answer.body];
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function poolOf(auth: NodeAuth, options: Partial<Pick<ResolvedPool, "modelNames" | "versions">> = {}): ResolvedPool {
  return { name: "fixture", nodes: new NodePool([{ url, weight: 1 }], { failures: 5, coolDownMs: 1000 }), auth, deadlineMs: 2000, modelNames: {}, versions: "none", ...options };
}

function versionWithInput(input: string, width: number, version = 1): SnapshotVersion {
  const feature_spec = featureSpecSchema.parse({ input, features: Array.from({ length: width }, (_, i) => ({ name: `f${i}`, type: "number", default: 0 })) });
  return { version, runtime: "origin", sha256: "0".repeat(64), size: 0, artifact_key: "", inputs: [{ name: input, shape: [-1, width], datatype: "FP32" }], outputs: [], feature_spec };
}

const flat = (data: unknown[]) => (data.flat(Infinity as 1) as number[]).map(Math.fround);

describe("the origin client against the protocol's documented examples", () => {
  it("KServe sklearn v2 iris: sends the documented request and reads the documented answer (null parameters, a 1-D INT64 output)", async () => {
    const pair = fixture("kserve-sklearn-v2-iris");
    answer = pair.response;
    seen = [];
    const documented = pair.request.body!.inputs[0]!;
    const input = Float32Array.from(flat(documented.data));
    const id = (pair.response.body as { id: string }).id;
    const runtime = originRuntime({ pool: poolOf({ kind: "none" }, { modelNames: { iris: "sklearn-v2-iris" } }), model: "iris", requestId: id });
    const outputs = await runtime.run(versionWithInput("input-0", 4), input, 2);

    expect(seen).toHaveLength(1);
    expect(seen[0]!.path).toBe(pair.request.path);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    const sent = JSON.parse(seen[0]!.body) as { inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[] };
    expect(conforms(sent, schemas.inference_request!)).toEqual([]);
    expect(sent.inputs).toHaveLength(1);
    expect({ ...sent.inputs[0]!, data: flat(sent.inputs[0]!.data) }).toEqual({ ...documented, data: flat(documented.data) });
    expect(outputs).toEqual({ predict: { data: Float32Array.from([1, 1]), width: 1 } });
  });

  it("the spec's two-input example: reads the [3, 2] FP32 output row by row, the id echoed, with a bearer token", async () => {
    const pair = fixture("spec-two-inputs");
    answer = pair.response;
    seen = [];
    const runtime = originRuntime({ pool: poolOf({ kind: "bearer", token: "cluster-token" }), model: "mymodel", requestId: "42" });
    const outputs = await runtime.run(versionWithInput("input0", 2), Float32Array.from([1, 2, 3, 4, 5, 6]), 3);
    expect(seen[0]!.path).toBe(pair.request.path);
    expect(seen[0]!.headers.authorization).toBe("Bearer cluster-token");
    expect(seen[0]!.headers["x-verge-signature"]).toBeUndefined();
    expect(JSON.parse(seen[0]!.body)).toMatchObject({ id: "42" });
    expect(outputs.output0!.width).toBe(2);
    expect(Array.from(outputs.output0!.data)).toEqual([1.0, 1.1, 2.0, 2.1, 3.0, 3.1].map(Math.fround));
  });

  it("signs with Verge's HMAC as extra headers on the versioned path, the body still plain OIP", async () => {
    answer = fixture("spec-two-inputs").response;
    seen = [];
    const runtime = originRuntime({ pool: poolOf({ kind: "hmac", secret: "pool-secret-0123456789" }, { versions: "verge" }), model: "mymodel", requestId: "42" });
    await runtime.run(versionWithInput("input0", 2, 7), new Float32Array(6), 3);
    const s = seen[0]!;
    expect(s.path).toBe("/v2/models/mymodel/versions/7/infer");
    expect(conforms(JSON.parse(s.body), schemas.inference_request!)).toEqual([]);
    const header = (name: string) => s.headers[name] as string;
    const signed = { method: "POST", host: header("host"), path: s.path, timestamp: header("x-verge-timestamp"), nonce: header("x-verge-nonce"), signature: header("x-verge-signature"), body: s.body };
    expect(await verifyOriginRequest("pool-secret-0123456789", signed)).toEqual({ ok: true });
    // The node's host is signed: the same headers do not verify for another host.
    expect(await verifyOriginRequest("pool-secret-0123456789", { ...signed, host: "other-node:8789" })).toEqual({ ok: false, reason: "bad signature" });
    // The gateway's deadline travels with it, so the node can drop the request once the gateway gave up.
    expect(Number(header("x-verge-deadline-ms"))).toBeGreaterThan(0);
  });

  it("Triton's classification example: refuses a STRING output with a message saying so", async () => {
    answer = fixture("triton-classification").response;
    const runtime = originRuntime({ pool: poolOf({ kind: "none" }), model: "mymodel", requestId: "42" });
    await expect(runtime.run(versionWithInput("input0", 2), new Float32Array(4), 2)).rejects.toMatchObject({ code: "unavailable", message: expect.stringMatching(/output "output0" is STRING; Verge reads numeric tensors only/), details: { reason: "origin_error" } });
  });

  it("the spec's error response: a 400 with its message, not a circuit failure", async () => {
    answer = fixture("spec-error").response;
    const pool = poolOf({ kind: "none" });
    const runtime = originRuntime({ pool, model: "mymodel" });
    for (let i = 0; i < 6; i++) {
      await expect(runtime.run(versionWithInput("input0", 2), new Float32Array(2), 1)).rejects.toMatchObject({ code: "unavailable", message: "origin refused the request: 400 unexpected inference input 'input-9' for model 'mymodel'", details: { reason: "origin_error" } });
    }
    expect(pool.nodes.nodes[0]!.breaker.state).toBe("closed");
  });

  it("refuses an answer whose rows do not match the request, naming the output", async () => {
    answer = fixture("kserve-sklearn-v2-iris").response;
    const runtime = originRuntime({ pool: poolOf({ kind: "none" }), model: "iris", requestId: "823248cc-d770-4a51-9606-16803395569c" });
    await expect(runtime.run(versionWithInput("input-0", 4), new Float32Array(12), 3)).rejects.toMatchObject({ message: 'origin: output "predict": 2 rows for a request of 3', details: { reason: "origin_error" } });
  });
});

describe("the class of an origin failure, which the prediction log records", () => {
  it("is origin_unreachable for a node that refuses connections, then circuit_open once its circuit opens, and timeout past the deadline", async () => {
    // A port nothing listens on: taken, then freed.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const pool: ResolvedPool = { ...poolOf({ kind: "none" }), nodes: new NodePool([{ url: deadUrl, weight: 1 }], { failures: 2, coolDownMs: 60_000 }) };
    const runtime = originRuntime({ pool, model: "m" });
    await expect(runtime.run(versionWithInput("x", 1), new Float32Array(1), 1)).rejects.toMatchObject({ code: "unavailable", details: { reason: "origin_unreachable" } });
    await expect(runtime.run(versionWithInput("x", 1), new Float32Array(1), 1)).rejects.toMatchObject({ code: "unavailable", details: { reason: "circuit_open" } });

    // A node that takes the request and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const slow: ResolvedPool = { ...poolOf({ kind: "none" }), nodes: new NodePool([{ url: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, weight: 1 }], { failures: 5, coolDownMs: 1000 }), deadlineMs: 200 };
      await expect(originRuntime({ pool: slow, model: "m" }).run(versionWithInput("x", 1), new Float32Array(1), 1)).rejects.toMatchObject({ code: "unavailable", details: { reason: "timeout" } });
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
