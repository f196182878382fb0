// (a) Time per inference: onnxruntime-web inside workerd, onnxruntime-web in Node (same wasm binary,
// same session options) and onnxruntime-node, same models and inputs, alternating rounds in one run;
// then what workerd changes: SIMD, the binary and its memory, V8's wasm tiers.
import { execFileSync } from "node:child_process";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import type { Miniflare } from "miniflare";
import { miniflare } from "../scripts/lib/miniflare.ts";
import { bundleModules, buildWorker } from "../scripts/lib/build.ts";
import { gbdtModel } from "./gbdt-model.ts";
import { benchInput, writtenModels, type BenchModel } from "./models.ts";
import { conditions, median, writeSection } from "./report.ts";

const ITERATIONS = { lr_b1: 20_000, mlp_b64: 400, gbdt_b64: 400 } as const;
type Name = keyof typeof ITERATIONS;
const ROUNDS = 7;
/** V8 flag sets workerd is started with for the tier diagnosis (miniflare passes them to workerd). */
const FLAG_SETS = [
  { flags: "", what: "workerd's defaults (Liftoff first, TurboFan tier-up)" },
  { flags: "--no-liftoff", what: "TurboFan only" },
  { flags: "--liftoff-only", what: "Liftoff only (no tier-up)" },
] as const;

function startWorkerd(flags: string): Miniflare {
  const before = process.env.MINIFLARE_WORKERD_V8_FLAGS;
  process.env.MINIFLARE_WORKERD_V8_FLAGS = flags;
  try {
    return miniflare({
      cf: false,
      workers: [{ name: "bench", compatibilityDate: "2026-08-01", compatibilityFlags: ["nodejs_compat"], ...bundleModules("bench-ort", "ort-worker.js") }],
    });
  } finally {
    if (before === undefined) delete process.env.MINIFLARE_WORKERD_V8_FLAGS;
    else process.env.MINIFLARE_WORKERD_V8_FLAGS = before;
  }
}

async function load(mf: Miniflare, name: string, m: BenchModel): Promise<Record<string, unknown>> {
  const res = await mf.dispatchFetch(`http://bench/load?model=${name}&batch=${m.batch}&width=${m.width}`, { method: "POST", body: m.bytes });
  if (!res.ok) throw new Error(`load ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Per-round milliseconds by workerd's own clock (rounds of `iterations` inferences). */
async function workerdRounds(mf: Miniflare, name: string, iterations: number, rounds = 1): Promise<number[]> {
  const res = await mf.dispatchFetch(`http://bench/run?model=${name}&iterations=${iterations}&rounds=${rounds}`);
  return ((await res.json()) as { ms: number[] }).ms;
}

const µs = (x: number) => `${x < 100 ? x.toFixed(1) : x.toFixed(0)} µs`;

export async function benchOrt(): Promise<void> {
  buildWorker("bench-ort", "bench/ort-worker.toml");
  const models: Record<Name, BenchModel> = { ...writtenModels(), gbdt_b64: await gbdtModel() };
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.proxy = false;
  const options = { graphOptimizationLevel: "all" } as const;

  // Main table: all three runtimes, default flags, alternating rounds.
  const mf = startWorkerd("");
  const rows: string[] = [];
  const curves: string[] = [];
  let workerdInfo: Record<string, unknown> = {};
  try {
    for (const name of Object.keys(models) as Name[]) workerdInfo = await load(mf, name, models[name]);
    // Tier-up in a fresh isolate: the MLP's first inferences, before anything else has run.
    const wCurve = await workerdRounds(mf, "mlp_b64", 50, 12);
    for (const name of Object.keys(models) as Name[]) {
      const m = models[name];
      const n = ITERATIONS[name];
      const input = benchInput(m.batch, m.width);
      const nodeSession = await ortNode.InferenceSession.create(m.bytes, { executionProviders: ["cpu"], intraOpNumThreads: 1, interOpNumThreads: 1, ...options });
      const webSession = await ortWeb.InferenceSession.create(m.bytes, { executionProviders: ["wasm"], ...options });
      if (name === "mlp_b64") {
        const nCurve: number[] = [];
        for (let r = 0; r < 12; r++) {
          const t0 = performance.now();
          for (let i = 0; i < 50; i++) await webSession.run({ input: new ortWeb.Tensor("float32", input, [m.batch, m.width]) });
          nCurve.push(performance.now() - t0);
        }
        const fmt = (xs: number[]) => xs.map((x) => ((x / 50) * 1000).toFixed(0)).join(", ");
        curves.push(`| ort-web in workerd | ${fmt(wCurve)} |`, `| ort-web in Node | ${fmt(nCurve)} |`);
      }
      const time = async (run: () => Promise<unknown>) => {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) await run();
        return ((performance.now() - t0) / n) * 1000;
      };
      const runNode = () => nodeSession.run({ input: new ortNode.Tensor("float32", input, [m.batch, m.width]) });
      const runWeb = () => webSession.run({ input: new ortWeb.Tensor("float32", input, [m.batch, m.width]) });
      await workerdRounds(mf, name, n); // warm-up round each
      await time(runWeb);
      await time(runNode);
      const w: number[] = [];
      const wOut: number[] = [];
      const web: number[] = [];
      const native: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        const [inside] = await workerdRounds(mf, name, n);
        wOut.push(((performance.now() - t0) / n) * 1000);
        w.push((inside! / n) * 1000);
        web.push(await time(runWeb));
        native.push(await time(runNode));
      }
      const [a, b, c, d] = [median(w), median(wOut), median(web), median(native)];
      rows.push(`| ${m.label} | ${µs(a)} (${µs(b)}) | ${µs(c)} | ${µs(d)} | **${(a / d).toFixed(2)}** | ${(c / d).toFixed(2)} | ${(a / c).toFixed(2)} |`);
      console.log(rows.at(-1));
      await nodeSession.release();
      await webSession.release();
    }
  } finally {
    await mf.dispose();
  }

  // Tier diagnosis: the MLP in workerd under V8 flag sets (diagnostic only: production workerd's
  // flags cannot be set by a worker), each its own workerd, alternating with the default.
  const flagRows: string[] = [];
  const mlp = models.mlp_b64;
  const per: Record<string, number[]> = {};
  const instances = FLAG_SETS.map((f) => ({ ...f, mf: startWorkerd(f.flags) }));
  try {
    for (const i of instances) {
      await load(i.mf, "mlp_b64", mlp);
      await workerdRounds(i.mf, "mlp_b64", ITERATIONS.mlp_b64, 2);
      per[i.flags] = [];
    }
    for (let r = 0; r < 5; r++) for (const i of instances) per[i.flags]!.push((((await workerdRounds(i.mf, "mlp_b64", ITERATIONS.mlp_b64))[0]!) / ITERATIONS.mlp_b64) * 1000);
    // The same flags on Node's V8 with the same wasm binary, each in a child process, after workerd's rounds.
    const nodeUs: Record<string, number> = {};
    for (const i of instances) {
      const args = [...(i.flags ? [i.flags] : []), "--import", "tsx", "bench/ort-node-wasm.ts", String(ITERATIONS.mlp_b64), "5"];
      nodeUs[i.flags] = (JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" }).trim().split("\n").at(-1)!) as { us: number }).us;
    }
    const base = median(per[""]!);
    for (const i of instances) flagRows.push(`| ${i.flags ? `\`${i.flags}\`` : "(none)"} | ${i.what} | ${µs(median(per[i.flags]!))} | ${(median(per[i.flags]!) / base).toFixed(2)} | ${µs(nodeUs[i.flags]!)} | ${(nodeUs[i.flags]! / nodeUs[""]!).toFixed(2)} |`);
    console.log(flagRows.join("\n"));
  } finally {
    for (const i of instances) await i.mf.dispose();
  }

  writeSection(
    "ort",
    `## (a) Inference: onnxruntime-web in workerd, onnxruntime-web in Node, onnxruntime-node

| model | ort-web in workerd (isolate clock; from outside) | ort-web in Node | ort-node | **workerd / ort-node** | Node wasm / ort-node | workerd / Node wasm |
|---|---|---|---|---|---|---|
${rows.join("\n")}

Per inference, median of ${ROUNDS} alternating rounds (${ITERATIONS.lr_b1} / ${ITERATIONS.mlp_b64} / ${ITERATIONS.gbdt_b64} inferences per round) after a warm-up round, one run. workerd: the gateway's own ORT loader (\`createOrtSession\`) in a benchmark worker, timed by the isolate's clock around each round (fenced by a zero-delay timer, since workerd's clock only advances across I/O); in brackets the same round timed from Node around the whole request. ort-web in Node: the same package and wasm binary (\`ort-wasm-simd-threaded.wasm\`, the only CPU binary onnxruntime-web 1.30 ships), \`numThreads = 1\`, no proxy. ort-node: CPU execution provider, 1 intra-op and 1 inter-op thread. All: graph optimization level \`all\`, same ONNX bytes and inputs. LR and MLP weights from the ONNX writer (fixed pseudo-random), GBDT trained by the project's trainer (100 trees, 20,000 seeded rows).

What workerd's isolate reports (after loading the models): ${Object.entries(workerdInfo).filter(([k]) => k !== "loaded").map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(", ")}.

Tier-up: µs per MLP inference (batch 64) in each of the first 12 rounds of 50 inferences of a fresh isolate / fresh Node session:

| runtime | rounds 1…12 |
|---|---|
${curves.join("\n")}

V8's wasm tiers (MLP 64-256-256-1 batch 64). workerd: each flag set its own workerd, 5 alternating rounds of ${ITERATIONS.mlp_b64} after 2 warm-up rounds, medians. Node: ort-web with the same binary in a child process started with the same flag, 5 rounds of ${ITERATIONS.mlp_b64} after 2 warm-up rounds, run after workerd's rounds (not alternating with them):

| V8 flags | meaning | workerd, per inference | vs defaults | Node wasm, per inference | vs defaults |
|---|---|---|---|---|---|
${flagRows.join("\n")}
${conditions()}`,
  );
}
