// Version uploads stream into R2 inside workerd (miniflare R2 and D1): a large artifact is stored in
// parts with the hash computed on the way, and every rejected or abandoned upload leaves no object
// and no row.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onnx } from "@verge/shared/onnx/proto";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoMetadata } from "../../scripts/lib/demo.ts";
import { ADMIN_TOKEN, errorOf, eventually, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
const MiB = 1024 * 1024;

beforeAll(async () => {
  stack = await testStack();
  await stack.admin.ok("POST", "/v1/models", { name: "big", task: "binary_classification" });
});
afterAll(() => stack?.dispose());

/** A valid model padded with an unused initializer of `padBytes` bytes. */
function paddedModel(padBytes: number): Uint8Array {
  const model = onnx.ModelProto.decode(logisticRegressionModel([1, 0, 0, 0, 0, 0], 0));
  const pad = new Uint8Array(padBytes);
  for (let i = 0; i < pad.length; i += 4096) pad[i] = i & 0xff;
  model.graph!.initializer.push(onnx.TensorProto.create({ name: "padding", dataType: onnx.TensorProto.DataType.UINT8, dims: [padBytes], rawData: pad }));
  return onnx.ModelProto.encode(model).finish();
}

function form(parts: { artifact?: Uint8Array; metadata?: string }, order: ("artifact" | "metadata")[] = ["metadata", "artifact"]): FormData {
  const f = new FormData();
  for (const name of order) {
    if (name === "artifact" && parts.artifact) f.append("artifact", new Blob([parts.artifact as BlobPart]), "model.onnx");
    if (name === "metadata" && parts.metadata !== undefined) f.append("metadata", parts.metadata);
  }
  return f;
}

async function upload(body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
  if (body instanceof FormData) {
    // Encoded here, so the boundary header travels with the bytes into workerd.
    const encoded = new Request("http://form", { method: "POST", body });
    headers = { ...headers, "content-type": encoded.headers.get("content-type")! };
    body = new Uint8Array(await encoded.arrayBuffer());
  }
  return stack.controlPlane("/v1/models/big/versions", { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }, body, duplex: "half" } as RequestInit);
}

async function storedObjects(): Promise<string[]> {
  const bucket = await stack.mf.getR2Bucket("ARTIFACTS", "verge-control-plane");
  return (await bucket.list({ prefix: "artifacts/big/" })).objects.map((o) => o.key);
}

async function versionRows(): Promise<number> {
  const db = await stack.mf.getD1Database("DB", "verge-control-plane");
  const row = await db.prepare("SELECT count(*) AS n FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = 'big'").first<{ n: number }>();
  return row!.n;
}

const origin = JSON.stringify({ ...demoMetadata("lr"), runtime: "origin" });

describe("streaming version upload", () => {
  it("stores a 48 MiB artifact in 8 MiB parts with the sha256 of its bytes", async () => {
    const artifact = paddedModel(48 * MiB);
    const res = await upload(form({ artifact, metadata: origin }, ["artifact", "metadata"]));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { version: number; sha256: string; size: number };
    expect(body.size).toBe(artifact.length);
    expect(body.sha256).toBe(createHash("sha256").update(artifact).digest("hex"));

    const [key] = await storedObjects();
    const bucket = await stack.mf.getR2Bucket("ARTIFACTS", "verge-control-plane");
    const object = await bucket.get(key!);
    const stored = new Uint8Array(await object!.arrayBuffer());
    expect(createHash("sha256").update(stored).digest("hex")).toBe(body.sha256);
    // A multipart object's etag ends in its part count: 7 parts (6 full, one of the remainder).
    // A buffered single `put` has a plain MD5 etag.
    expect(object!.etag).toMatch(/-7$/);
    expect(await versionRows()).toBe(1);
  }, 120_000);

  it("streams a small artifact with a single put, and serves it back", async () => {
    const artifact = logisticRegressionModel([2, 0, 0, 0, 0, 0], 0);
    const res = await upload(form({ artifact, metadata: JSON.stringify(demoMetadata("lr")) }));
    expect(res.status).toBe(201);
    const { version, sha256 } = (await res.json()) as { version: number; sha256: string };
    expect(sha256).toBe(createHash("sha256").update(artifact).digest("hex"));
    const served = await stack.controlPlane(`/v1/models/big/versions/${version}/artifact`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(served.headers.get("x-verge-sha256")).toBe(sha256);
    expect(createHash("sha256").update(new Uint8Array(await served.arrayBuffer())).digest("hex")).toBe(sha256);
  });
});

describe("a rejected upload leaves no object and no row", () => {
  const before = { objects: 0, rows: 0 };
  beforeAll(async () => {
    before.objects = (await storedObjects()).length;
    before.rows = await versionRows();
  });
  const unchanged = async () => {
    expect((await storedObjects()).length).toBe(before.objects);
    expect(await versionRows()).toBe(before.rows);
  };

  it("bad metadata sent after a large artifact", async () => {
    const res = await upload(form({ artifact: paddedModel(20 * MiB), metadata: '{"runtime":"edge"' }, ["artifact", "metadata"]));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/^metadata/);
    await unchanged();
  }, 60_000);

  it("an artifact that is not ONNX", async () => {
    const junk = new Uint8Array(12 * MiB).fill(0xff);
    const res = await upload(form({ artifact: junk, metadata: origin }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/^artifact: not an ONNX model/);
    await unchanged();
  }, 60_000);

  it("a graph that does not match its declared spec (checked after the bytes are stored)", async () => {
    const meta = { ...demoMetadata("lr"), runtime: "origin", outputs: [{ name: "nope", shape: [-1], datatype: "FP32" }] };
    const res = await upload(form({ artifact: paddedModel(10 * MiB), metadata: JSON.stringify(meta) }));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/^metadata\.outputs/);
    await unchanged();
  }, 60_000);

  it("an edge version over the edge limit", async () => {
    const res = await upload(form({ artifact: paddedModel(33 * MiB), metadata: JSON.stringify(demoMetadata("lr")) }));
    expect(res.status).toBe(413);
    await unchanged();
  }, 60_000);

  it("a client that goes away mid-upload", async () => {
    const boundary = "----verge-abort";
    const head = new TextEncoder().encode(
      `--${boundary}\r\ncontent-disposition: form-data; name="metadata"\r\n\r\n${origin}\r\n--${boundary}\r\ncontent-disposition: form-data; name="artifact"; filename="m.onnx"\r\n\r\n`,
    );
    const model = paddedModel(30 * MiB);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(head);
        // Enough for two R2 parts, then the connection breaks.
        if (sent >= 20 * MiB) return controller.error(new Error("client went away"));
        controller.enqueue(model.subarray(sent, sent + MiB));
        sent += MiB;
      },
    });
    await upload(body, { "content-type": `multipart/form-data; boundary=${boundary}` }).then(
      (r) => r.body?.cancel(),
      () => undefined,
    );
    await eventually(async () => ((await storedObjects()).length === before.objects ? true : undefined));
    await unchanged();
  }, 60_000);
});
