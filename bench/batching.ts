// (batching) Dynamic batching on the origin: signed OIP infer requests of one row each from 64
// connections, the same origin code with batching on (max batch 64) and off (max batch 1),
// alternating rounds in one run.
import autocannon from "autocannon";
import { sha256Hex, signRequest } from "@verge/shared";
import { mlpModel } from "@verge/shared/onnx/writer";
import { registeredVersion } from "../scripts/lib/demo.ts";
import { freePort } from "../scripts/lib/redis-server.ts";
import { loadConfig } from "../trainer/src/config.ts";
import { startOrigin } from "../trainer/src/server.ts";
import { conditions, median, writeSection } from "./report.ts";

const SECRET = "bench-origin-secret-0123456789";
const CONNECTIONS = 64;
const SECONDS = 8;
const ROUNDS = 3;
const INPUTS = 256;
const DELAY_MS = 2;
/** The same for both modes; one thread measured faster than two on this shared two-core machine. */
const INTRA_OP_THREADS = 1;
const MODELS = [{ hidden: 512 }, { hidden: 2048 }, { hidden: 4096 }];

function heavyMlp(hidden: number): Uint8Array {
  let seed = 42;
  const r = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1;
  const layer = (inW: number, outW: number) => ({ weights: Float32Array.from({ length: inW * outW }, r), bias: Float32Array.from({ length: outW }, r) });
  return mlpModel([layer(INPUTS, hidden), layer(hidden, hidden), layer(hidden, 1)], "sigmoid");
}

async function registryServing(bytes: Uint8Array): Promise<typeof fetch> {
  const meta = JSON.stringify(registeredVersion(await sha256Hex(bytes), bytes.byteLength, INPUTS));
  return (async (input: string | URL | Request) => {
    const path = new URL(typeof input === "string" || input instanceof URL ? input : input.url).pathname;
    return path.endsWith("/artifact") ? new Response(bytes as Uint8Array<ArrayBuffer>) : new Response(meta, { headers: { "content-type": "application/json" } });
  }) as typeof fetch;
}

type Round = { rps: number; p50: number; p99: number; rowsPerRun: number };

export async function benchBatching(): Promise<void> {
  const rows: string[] = [];
  for (const { hidden } of MODELS) {
    const fetcher = await registryServing(heavyMlp(hidden));
    const origin = async (maxBatch: number) =>
      startOrigin(
        loadConfig({
          PORT: String(await freePort()),
          VERGE_CONTROL_PLANE_TOKEN: "bench",
          VERGE_ORIGIN_SECRET: SECRET,
          VERGE_EXECUTION_PROVIDER: "cpu",
          VERGE_MAX_BATCH_SIZE: String(maxBatch),
          VERGE_MAX_QUEUE_DELAY_MS: String(DELAY_MS),
        }),
        { fetcher, sessionOptions: { intraOpNumThreads: INTRA_OP_THREADS, interOpNumThreads: 1 } },
      );
    const on = await origin(64);
    const off = await origin(1);
    const path = "/v2/models/heavy/versions/1/infer";
    const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, INPUTS], datatype: "FP32", data: Array.from({ length: INPUTS }, (_, i) => Math.sin(i)) }] });
    const runsSoFar = async (node: typeof on) => {
      const text = await node.services.metrics.registry.metrics();
      const value = (name: string) => Number(text.match(new RegExp(`^${name}\\{model="heavy",version="1"\\} (\\S+)`, "m"))?.[1] ?? 0);
      return { runs: value("verge_origin_batch_rows_count"), rows: value("verge_origin_batch_rows_sum") };
    };
    const round = async (node: typeof on, duration: number): Promise<Round> => {
      const before = await runsSoFar(node);
      // Signed once per round: a round is well inside the 30 s replay window.
      const headers = { "content-type": "application/json", ...(await signRequest(SECRET, "POST", path, body)) };
      const r = await autocannon({ url: `http://127.0.0.1:${node.port}${path}`, method: "POST", headers, body, connections: CONNECTIONS, duration, workers: 1 } as autocannon.Options);
      if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx and ${r.errors} errors during the run`);
      const after = await runsSoFar(node);
      return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, rowsPerRun: (after.rows - before.rows) / Math.max(1, after.runs - before.runs) };
    };
    try {
      await round(on, 2); // warm: session load, JIT
      await round(off, 2);
      const b: Round[] = [];
      const u: Round[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        b.push(await round(on, SECONDS));
        u.push(await round(off, SECONDS));
        console.log(`MLP ${INPUTS}-${hidden}-${hidden}-1 round ${i + 1}: on ${b.at(-1)!.rps.toFixed(0)} req/s (${b.at(-1)!.rowsPerRun.toFixed(1)} rows/run), off ${u.at(-1)!.rps.toFixed(0)} req/s`);
      }
      const m = (xs: Round[], k: keyof Round) => median(xs.map((x) => x[k]));
      rows.push(
        `| MLP ${INPUTS}-${hidden}-${hidden}-1 | ${m(b, "rps").toFixed(0)} req/s, p50 ${m(b, "p50").toFixed(1)} ms, p99 ${m(b, "p99").toFixed(1)} ms (${m(b, "rowsPerRun").toFixed(1)} rows/run) | ${m(u, "rps").toFixed(0)} req/s, p50 ${m(u, "p50").toFixed(1)} ms, p99 ${m(u, "p99").toFixed(1)} ms | **${(m(b, "rps") / m(u, "rps")).toFixed(2)}×** |`,
      );
      console.log(rows.at(-1));
    } finally {
      await on.close();
      await off.close();
    }
  }
  writeSection(
    "batching",
    `## Dynamic batching on the origin

| model | batching on (max batch 64, delay ${DELAY_MS} ms) | batching off (max batch 1) | throughput ratio |
|---|---|---|---|
${rows.join("\n")}

Signed OIP infer requests of one row each (FP32 [1, ${INPUTS}]), autocannon with ${CONNECTIONS} connections in a worker thread of the same process, ${SECONDS} s per round, ${ROUNDS} alternating rounds after a warm-up round each, medians. Each mode is its own origin (\`startOrigin\`, registry replaced by an in-memory fetcher) with identical session options: CPU execution provider, ${INTRA_OP_THREADS} intra-op thread, 1 inter-op thread. Rows per run is read from the origin's own \`verge_origin_batch_rows\` histogram. Goal: ≥ 4× throughput with batching.

What bounds the ratio here: load generator, event loop and onnxruntime share two cores, and each request costs the event loop roughly 0.12–0.15 ms whatever the mode. Timed alone for this request body: the signature check about 90 µs (three WebCrypto calls per request, key import, body digest and verify, each a thread-pool round trip), JSON parsing 16 µs, the schema 6 µs, the tensor 7 µs. Measured alone (1 intra-op thread), one row of the 512-wide MLP takes 30 µs at batch 1 and 3.5 µs at batch 64, so batching cannot win much there; the 2048-wide one 272 vs 54 µs per row; the gain grows with the model's weight traffic per row. The load is a closed loop (64 connections, so throughput ≈ 64 / latency): with the one onnxruntime thread holding one core, most of each request's latency is spent waiting for CPU in the HTTP path and the load generator, not in the batcher, which is why runs hold 14–21 rows rather than 64. Levers tried: letting batches run concurrently instead of one run at a time per queue (the queue now fills while a run is in flight) gave 1.26× / 1.98× / 3.46× in an earlier run, within noise of the figures above; 2 intra-op threads made both batch 1 and batch 64 slower in isolation on this machine (512-wide batch 64: 0.45 vs 0.22 ms; 2048-wide batch 64: 6.2 vs 3.4 ms), so it was not run end to end. The delay (${DELAY_MS} ms) rarely decides a flush under this load: batches form while the previous run is in flight. Not measured: a GPU execution provider, where batch 1 is far from the device's throughput and the ratio is expected to be larger.
${conditions()}`,
  );
}
