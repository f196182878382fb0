// A GPU-node check of the origin's execution-provider choice, run on a machine with a GPU:
// `auto` must end on a working provider (CUDA when its execution-provider files load, else
// CPU), `cuda` must fail loudly when they do not, and both must compute the same outputs.
import * as ort from "onnxruntime-node";
import { mlpModel } from "@verge/shared/onnx/writer";
import { createSession } from "../trainer/src/serving/models.ts";

const width = 256;
const layer = (i: number, o: number, seed: number) => ({ weights: Array.from({ length: i * o }, (_, k) => Math.sin(k * 0.37 + seed) * 0.05), bias: Array.from({ length: o }, (_, k) => Math.cos(k + seed) * 0.01) });
const bytes = mlpModel([layer(width, 512, 1), layer(512, 512, 2), layer(512, 1, 3)], "sigmoid");
const batch = 64;
const x = Float32Array.from({ length: batch * width }, (_, k) => Math.sin(k * 0.01));
const report: Record<string, unknown> = { node: process.version, ort: ort.env.versions.common };
for (const preference of ["auto", "cuda", "cpu"] as const) {
  try {
    const { session, provider } = await createSession(bytes, preference);
    const feeds = { input: new ort.Tensor("float32", x, [batch, width]) };
    await session.run(feeds);
    const t0 = performance.now();
    let out: ort.Tensor | undefined;
    for (let i = 0; i < 200; i++) out = (await session.run(feeds)).probability as ort.Tensor;
    report[preference] = { provider, ms_per_batch64: (performance.now() - t0) / 200, first: (out!.data as Float32Array)[0] };
  } catch (err) {
    report[preference] = { error: (err as Error).message.slice(0, 300) };
  }
}
console.log(JSON.stringify(report, null, 2));
