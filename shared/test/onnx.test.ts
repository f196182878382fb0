// The ONNX writer produces real models: onnxruntime-node runs them and matches plain-JS math.
import * as ort from "onnxruntime-node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { onnx } from "../src/onnx/proto.ts";
import { readModelIo } from "../src/onnx/reader.ts";
import { logisticRegressionModel, mlpModel } from "../src/onnx/writer.ts";

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

async function run(model: Uint8Array, x: number[], rows: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  const out = await session.run({ input: new ort.Tensor("float32", Float32Array.from(x), [rows, x.length / rows]) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

describe("ONNX writer", () => {
  it("writes logistic regression that computes sigmoid(x·w + b)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 8 }).chain((w) =>
          fc.tuple(fc.constant(w), fc.float({ min: -1, max: 1, noNaN: true }), fc.array(fc.float({ min: -3, max: 3, noNaN: true }), { minLength: w.length * 3, maxLength: w.length * 3 })),
        ),
        async ([w, b, x]) => {
          const got = await run(logisticRegressionModel(w, b), x, 3);
          for (let r = 0; r < 3; r++) {
            const z = w.reduce((s, wi, i) => s + wi * x[r * w.length + i]!, b);
            expect(got[r]).toBeCloseTo(sigmoid(z), 5);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("writes MLPs with ReLU hidden layers", async () => {
    const layers = [
      { weights: [1, -1, 0.5, 2, 0, 1], bias: [0.1, -0.2, 0.3] }, // 2 → 3
      { weights: [1, 0.5, -1], bias: [0.25] }, // 3 → 1
    ];
    const x = [0.7, -1.3];
    const h = [0, 1, 2].map((j) => Math.max(0, x[0]! * layers[0]!.weights[j]! + x[1]! * layers[0]!.weights[3 + j]! + layers[0]!.bias[j]!));
    const z = h.reduce((s, v, j) => s + v * layers[1]!.weights[j]!, 0.25);
    expect((await run(mlpModel(layers, "none"), x, 1))[0]).toBeCloseTo(z, 5);
    expect((await run(mlpModel(layers, "sigmoid"), x, 1))[0]).toBeCloseTo(sigmoid(z), 5);
  });

  it("reads back graph inputs and outputs", () => {
    const io = readModelIo(logisticRegressionModel([1, 2, 3], 0, { inputName: "x", outputName: "p" }));
    expect(io.inputs).toEqual([{ name: "x", shape: [-1, 3], datatype: "FP32" }]);
    expect(io.outputs).toEqual([{ name: "p", shape: [-1, 1], datatype: "FP32" }]);
  });

  /** The error `readModelIo` throws for `bytes`, or undefined when it accepts them. */
  const refusal = (bytes: Uint8Array): unknown => {
    try {
      readModelIo(bytes);
      return undefined;
    } catch (err) {
      return err;
    }
  };

  it("refuses random bytes with a 400, whatever they decode to", () => {
    // A graph with nodes and outputs does not arise from random bytes: every one must be refused.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const err = refusal(bytes);
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).status).toBe(400);
        expect((err as ApiError).message).toMatch(/^artifact: not an ONNX model/);
      }),
    );
    expect(() => readModelIo(new TextEncoder().encode("not a model"))).toThrow(/artifact: not an ONNX model/);
  });

  it("refuses well-formed protobuf that is not a usable model (no graph, no nodes or no outputs)", () => {
    fc.assert(
      fc.property(
        fc.record({
          irVersion: fc.integer({ min: 0, max: 12 }),
          producerName: fc.string({ maxLength: 20 }),
          graph: fc.option(fc.record({ name: fc.string({ maxLength: 10 }), nodes: fc.boolean(), outputs: fc.boolean() }).filter((g) => !(g.nodes && g.outputs)), { nil: undefined }),
        }),
        (m) => {
          const bytes = onnx.ModelProto.encode(
            onnx.ModelProto.create({
              irVersion: m.irVersion,
              producerName: m.producerName,
              ...(m.graph
                ? {
                    graph: onnx.GraphProto.create({
                      name: m.graph.name,
                      node: m.graph.nodes ? [onnx.NodeProto.create({ opType: "Identity", input: ["x"], output: ["y"] })] : [],
                      output: m.graph.outputs ? [onnx.ValueInfoProto.create({ name: "y" })] : [],
                    }),
                  }
                : {}),
            }),
          ).finish();
          const err = refusal(bytes);
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).status).toBe(400);
          expect((err as ApiError).message).toBe("artifact: not an ONNX model (no graph, nodes or outputs)");
        },
      ),
    );
  });

  it("accepts every model the writer produces", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 8 }), (w) => {
        expect(refusal(logisticRegressionModel(w, 0))).toBeUndefined();
        expect(readModelIo(logisticRegressionModel(w, 0)).inputs).toEqual([{ name: "input", shape: [-1, w.length], datatype: "FP32" }]);
      }),
      { numRuns: 30 },
    );
  });
});
