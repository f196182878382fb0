// onnxruntime-web inside workerd: light models run in the worker itself.
//
// workerd refuses to compile WebAssembly from bytes, and ORT cannot be handed a precompiled
// module, so ORT's single instantiate call is served from the module wrangler precompiled at
// build time (the `.wasm` import), through a one-shot wrapper that restores the original.
import * as ort from "onnxruntime-web/wasm";
import ortWasm from "onnxruntime-web/ort-wasm-simd-threaded.wasm";

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["wasm"],
  graphOptimizationLevel: "all",
};

let runtimeReady: Promise<unknown> | undefined;

/**
 * Creates an inference session. The first call in an isolate also starts ORT's runtime
 * (about 250 ms); it happens lazily, never at startup.
 */
export async function createOrtSession(model: Uint8Array): Promise<ort.InferenceSession> {
  if (runtimeReady) {
    await runtimeReady;
    return ort.InferenceSession.create(model, SESSION_OPTIONS);
  }
  const first = withPrecompiledModule(() => ort.InferenceSession.create(model, SESSION_OPTIONS));
  runtimeReady = first.catch(() => {
    runtimeReady = undefined;
  });
  return first;
}

async function withPrecompiledModule<T>(run: () => Promise<T>): Promise<T> {
  // Emscripten may copy the binary it is given, so the placeholder is recognized by content.
  const placeholder = new Uint8Array(PLACEHOLDER).buffer;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmBinary = placeholder;
  const original = WebAssembly.instantiate;
  WebAssembly.instantiate = (async (source: unknown, imports?: WebAssembly.Imports) => {
    if (!isPlaceholder(source)) return original(source as BufferSource, imports);
    WebAssembly.instantiate = original;
    return { instance: await original(ortWasm, imports), module: ortWasm };
  }) as typeof WebAssembly.instantiate;
  try {
    return await run();
  } finally {
    WebAssembly.instantiate = original;
  }
}

const PLACEHOLDER = [0x76, 0x65, 0x72, 0x67, 0x65, 0x2d, 0x6f, 0x72, 0x74]; // "verge-ort"

function isPlaceholder(source: unknown): boolean {
  const bytes =
    source instanceof ArrayBuffer ? new Uint8Array(source)
    : ArrayBuffer.isView(source) ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
    : undefined;
  return bytes !== undefined && bytes.length === PLACEHOLDER.length && PLACEHOLDER.every((b, i) => bytes[i] === b);
}

export { ort };
