// (batching) One origin node in a process of its own, for the batching benchmark: the load
// generator must not share this process's event loop. Serves the heavy MLP from an in-memory
// registry; prints `{"port": N}` once listening. Settings come as one JSON argument.
import { sha256Hex } from "@verge/shared";
import { mlpModel } from "@verge/shared/onnx/writer";
import { registeredVersion } from "../scripts/lib/demo.ts";
import { loadConfig } from "../trainer/src/config.ts";
import { startOrigin } from "../trainer/src/server.ts";

export interface OriginProcessSettings {
  port: number;
  hidden: number;
  inputs: number;
  maxBatch: number;
  delayMs: number;
  intraOpThreads: number;
  secret: string;
  metricsToken: string;
}

const s = JSON.parse(process.argv[2]!) as OriginProcessSettings;

function heavyMlp(hidden: number, inputs: number): Uint8Array {
  let seed = 42;
  const r = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1;
  const layer = (inW: number, outW: number) => ({ weights: Float32Array.from({ length: inW * outW }, r), bias: Float32Array.from({ length: outW }, r) });
  return mlpModel([layer(inputs, hidden), layer(hidden, hidden), layer(hidden, 1)], "sigmoid");
}

const bytes = heavyMlp(s.hidden, s.inputs);
const meta = JSON.stringify(registeredVersion(await sha256Hex(bytes), bytes.byteLength, s.inputs));
const fetcher = (async (input: string | URL | Request) => {
  const path = new URL(typeof input === "string" || input instanceof URL ? input : input.url).pathname;
  return path.endsWith("/artifact") ? new Response(bytes as Uint8Array<ArrayBuffer>) : new Response(meta, { headers: { "content-type": "application/json" } });
}) as typeof fetch;

const origin = await startOrigin(
  loadConfig({
    PORT: String(s.port),
    VERGE_CONTROL_PLANE_TOKEN: "bench",
    VERGE_ORIGIN_SECRET: s.secret,
    VERGE_METRICS_TOKEN: s.metricsToken,
    VERGE_EXECUTION_PROVIDER: "cpu",
    VERGE_MAX_BATCH_SIZE: String(s.maxBatch),
    VERGE_MAX_QUEUE_DELAY_MS: String(s.delayMs),
  }),
  { fetcher, sessionOptions: { intraOpNumThreads: s.intraOpThreads, interOpNumThreads: 1 } },
);
process.stdout.write(`${JSON.stringify({ port: origin.port })}\n`);
process.on("SIGTERM", () => void origin.close().then(() => process.exit(0)));
