// (a) Time per inference: onnxruntime-web inside workerd vs onnxruntime-node, same models,
// alternating rounds in one run.
import { miniflare } from "../scripts/lib/miniflare.ts";
import * as ortNode from "onnxruntime-node";
import { bundleModules, buildWorker } from "../scripts/lib/build.ts";
import { benchModels } from "./models.ts";
import { conditions, median, writeSection } from "./report.ts";

const ITERATIONS = { lr_b1: 20_000, mlp_b64: 400 } as const;
const ROUNDS = 7;

export async function benchOrt(): Promise<void> {
  buildWorker("bench-ort", "bench/ort-worker.toml");
  const mf = miniflare({
    cf: false,
    workers: [{ name: "bench", compatibilityDate: "2026-08-01", compatibilityFlags: ["nodejs_compat"], ...bundleModules("bench-ort", "ort-worker.js") }],
  });
  const models = benchModels();
  const rows: string[] = [];
  try {
    for (const name of Object.keys(ITERATIONS) as (keyof typeof ITERATIONS)[]) {
      const n = ITERATIONS[name];
      const m = models[name];
      const session = await ortNode.InferenceSession.create(m.bytes, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
      const feeds = { input: new ortNode.Tensor("float32", m.input, [m.batch, m.width]) };
      const workerd = async (iterations: number) => {
        const t0 = performance.now();
        const res = await mf.dispatchFetch(`http://bench/?model=${name}&iterations=${iterations}`);
        await res.json();
        return performance.now() - t0;
      };
      const node = async (iterations: number) => {
        const t0 = performance.now();
        for (let i = 0; i < iterations; i++) await session.run(feeds);
        return performance.now() - t0;
      };
      await workerd(n); // warm: runtime start, session creation, JIT
      await node(n);
      const w: number[] = [];
      const nd: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        // Subtract a zero-work request's round trip so only inference time remains.
        const overhead = await workerd(0);
        w.push(((await workerd(n)) - overhead) / n);
        nd.push((await node(n)) / n);
      }
      const web = median(w) * 1000;
      const native = median(nd) * 1000;
      rows.push(`| ${name === "lr_b1" ? "logistic regression (20 features), batch 1" : "MLP 64-256-256-1, batch 64"} | ${web.toFixed(1)} µs | ${native.toFixed(1)} µs | **${(web / native).toFixed(2)}** |`);
      console.log(rows.at(-1));
    }
  } finally {
    await mf.dispose();
  }
  writeSection(
    "ort",
    `## (a) Inference: onnxruntime-web in workerd vs onnxruntime-node

| model | ort-web in workerd (per inference) | ort-node (per inference) | ratio web/node |
|---|---|---|---|
${rows.join("\n")}

Median of ${ROUNDS} alternating rounds (${ITERATIONS.lr_b1} / ${ITERATIONS.mlp_b64} inferences per round), after a warm-up round. workerd: the gateway's own ORT loader (wasm SIMD, 1 thread) timed from outside (whole requests of many inferences, minus a zero-inference request's round trip), so the figure does not depend on the worker's own clock. ort-node: CPU execution provider, 1 intra-op thread, same ONNX bytes and inputs. Target: ratio ≤ 1.5 for logistic regression batch 1.
${conditions()}`,
  );
}
