// The streaming multipart reader and ONNX walk behind version uploads, on arbitrary chunkings:
// wherever the network splits the body, the parts and the graph's I/O read the same.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readModelIo } from "@verge/shared/onnx/reader";
import { ByteSource, readModelIoStream } from "@verge/shared/onnx/stream";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { MultipartReader } from "../src/registry/multipart.ts";

const BOUNDARY = "----b0undary";

function encode(parts: { name: string; filename?: string; body: Uint8Array }[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const text = (s: string) => chunks.push(new TextEncoder().encode(s));
  for (const p of parts) {
    text(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ""}\r\n\r\n`);
    chunks.push(p.body);
    text("\r\n");
  }
  text(`--${BOUNDARY}--\r\n`);
  return Buffer.concat(chunks);
}

/** `bytes` as a stream cut at the given points. */
function chunked(bytes: Uint8Array, cuts: number[]): ReadableStreamDefaultReader<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) pieces.push(bytes.slice(at, p));
    at = Math.max(at, p);
  }
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = pieces.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  }).getReader();
}

// Bodies rich in the delimiter's own bytes, so partial matches straddle chunk edges.
const body = fc.array(fc.oneof(fc.constantFrom("\r", "\n", "-", "--", `\r\n--${BOUNDARY.slice(0, 5)}`, `--${BOUNDARY}`), fc.string()), { maxLength: 30 })
  .map((xs) => new TextEncoder().encode(xs.join("")))
  // A form's encoder picks a boundary its content does not contain.
  .filter((b) => !Buffer.from(b).includes(`\r\n--${BOUNDARY}`));

describe("multipart reader", () => {
  it("reads the same parts however the body is chunked", async () => {
    await fc.assert(
      fc.asyncProperty(body, body, fc.array(fc.nat(), { maxLength: 20 }), async (artifact, metadata, cuts) => {
        const form = encode([{ name: "metadata", body: metadata }, { name: "artifact", filename: "m.onnx", body: artifact }]);
        const reader = new MultipartReader(chunked(form, cuts), BOUNDARY);
        const seen: { name: string; filename?: string; body: Uint8Array }[] = [];
        for (let part = await reader.nextPart(); part; part = await reader.nextPart()) {
          const bytes: number[] = [];
          for (let c = await reader.read(); c; c = await reader.read()) bytes.push(...c);
          seen.push({ ...part, body: new Uint8Array(bytes) });
        }
        expect(seen).toEqual([{ name: "metadata", body: metadata }, { name: "artifact", filename: "m.onnx", body: artifact }]);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a body without its closing delimiter", async () => {
    const form = encode([{ name: "artifact", filename: "m.onnx", body: new Uint8Array([1, 2, 3]) }]);
    const reader = new MultipartReader(chunked(form.subarray(0, form.length - 10), [7]), BOUNDARY);
    await reader.nextPart();
    await expect(reader.read()).rejects.toThrow(/malformed multipart/);
  });
});

describe("streaming ONNX walk", () => {
  it("reads the I/O the whole-file reader reads, on any chunking", async () => {
    const model = logisticRegressionModel([0.5, -1, 2], 0.1);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        const reader = chunked(model, cuts);
        const io = await readModelIoStream(new ByteSource(async () => (await reader.read()).value ?? null));
        expect(io).toEqual(readModelIo(model));
      }),
      { numRuns: 200 },
    );
  });

  it("refuses truncated and foreign bytes", async () => {
    const model = logisticRegressionModel([0.5, -1, 2], 0.1);
    for (const bytes of [model.subarray(0, model.length - 3), new Uint8Array(64).fill(0xff), new TextEncoder().encode("not a model")]) {
      const reader = chunked(bytes, [5]);
      await expect(readModelIoStream(new ByteSource(async () => (await reader.read()).value ?? null))).rejects.toThrow(/not an ONNX model/);
    }
  });
});
