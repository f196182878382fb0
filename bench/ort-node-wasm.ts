// Child process of the ORT suite: the MLP benchmark model in onnxruntime-web on Node's own V8, run
// under whatever V8 flags this process was started with (--no-liftoff, --liftoff-only), printing the
// median µs per inference as JSON.
import * as ortWeb from "onnxruntime-web";
import { benchInput, writtenModels } from "./models.ts";
import { median } from "./report.ts";

const [iterations = "400", rounds = "5"] = process.argv.slice(2);
const m = writtenModels().mlp_b64;
ortWeb.env.wasm.numThreads = 1;
ortWeb.env.wasm.proxy = false;
const session = await ortWeb.InferenceSession.create(m.bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
const input = benchInput(m.batch, m.width);
const round = async () => {
  const t0 = performance.now();
  for (let i = 0; i < Number(iterations); i++) await session.run({ input: new ortWeb.Tensor("float32", input, [m.batch, m.width]) });
  return ((performance.now() - t0) / Number(iterations)) * 1000;
};
await round();
await round();
const times: number[] = [];
for (let r = 0; r < Number(rounds); r++) times.push(await round());
console.log(JSON.stringify({ us: median(times) }));
