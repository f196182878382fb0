// A benchmark-only worker: runs the gateway's onnxruntime-web path on models the caller uploads,
// timing rounds of many inferences inside the isolate. workerd's clock does not advance during
// pure computation, only across I/O, so each round is fenced by a zero-delay timer on both sides
// (the clock is then read fresh); a round must run for many milliseconds to be resolved.
import { createOrtSession, ort } from "../gateway/src/inference/ort-web.ts";
import { benchInput } from "./models.ts";

interface Loaded {
  session: Awaited<ReturnType<typeof createOrtSession>>;
  batch: number;
  width: number;
}
const models = new Map<string, Loaded>();
/** What ORT's instantiate call was given and returned, seen through a wrapper installed first. */
const seen: { memories: WebAssembly.Memory[]; exports: WebAssembly.Exports | undefined } = { memories: [], exports: undefined };

const original = WebAssembly.instantiate;
WebAssembly.instantiate = (async (source: BufferSource | WebAssembly.Module, imports?: WebAssembly.Imports) => {
  for (const ns of Object.values(imports ?? {})) for (const v of Object.values(ns)) if (v instanceof WebAssembly.Memory) seen.memories.push(v);
  const result = (await original(source as BufferSource, imports)) as WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
  seen.exports = ("instance" in result ? result.instance : result).exports;
  return result;
}) as typeof WebAssembly.instantiate;

const tick = () => new Promise((r) => setTimeout(r, 0));

// (module (func (result v128) v128.const i32x4 0 0 0 0)): valid only where wasm SIMD is on.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);

function info() {
  const memory = seen.memories[0] ?? Object.values(seen.exports ?? {}).find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory);
  return {
    simd: WebAssembly.validate(SIMD_PROBE),
    sharedArrayBuffer: typeof SharedArrayBuffer !== "undefined",
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated ?? null,
    numThreads: ort.env.wasm.numThreads,
    memoryImported: seen.memories.length > 0,
    memoryShared: memory ? memory.buffer instanceof SharedArrayBuffer || memory.buffer.constructor.name === "SharedArrayBuffer" : null,
    memoryBytes: memory?.buffer.byteLength ?? null,
    exports: Object.keys(seen.exports ?? {}).length,
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const name = url.searchParams.get("model") ?? "";
    if (url.pathname === "/info") return Response.json(info());
    if (url.pathname === "/load") {
      const bytes = new Uint8Array(await request.arrayBuffer());
      const session = await createOrtSession(bytes);
      models.set(name, { session, batch: Number(url.searchParams.get("batch")), width: Number(url.searchParams.get("width")) });
      return Response.json({ loaded: name, ...info() });
    }
    const model = models.get(name);
    if (!model) return new Response("unknown model", { status: 404 });
    const iterations = Number(url.searchParams.get("iterations") ?? "1");
    const rounds = Number(url.searchParams.get("rounds") ?? "1");
    const feeds = { input: new ort.Tensor("float32", benchInput(model.batch, model.width), [model.batch, model.width]) };
    const out = model.session.outputNames[0]!;
    const ms: number[] = [];
    let checksum = 0;
    for (let r = 0; r < rounds; r++) {
      await tick();
      const t0 = Date.now();
      for (let i = 0; i < iterations; i++) checksum += ((await model.session.run(feeds))[out]!.data as Float32Array)[0]!;
      await tick();
      ms.push(Date.now() - t0);
    }
    return Response.json({ ms, checksum });
  },
};
