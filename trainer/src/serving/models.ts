// Models served on the origin: fetched from the registry by version, verified by sha256, one
// onnxruntime-node session per artifact. Execution providers are chosen explicitly: CUDA where
// its libraries load, else CPU — onnxruntime-node does not fall back by itself.
import * as ort from "onnxruntime-node";
import { ApiError, sha256Hex } from "@verge/shared";
import type { Config } from "../config.ts";

export interface LoadedModel {
  session: ort.InferenceSession;
  provider: "cuda" | "cpu";
  sha256: string;
}

export type ModelCache = ReturnType<typeof modelCache>;

/** Sessions per model version. `sessionOptions` (e.g. `intraOpNumThreads`) apply to every session. */
export function modelCache(config: Config, fetcher: typeof fetch = fetch, sessionOptions: ort.InferenceSession.SessionOptions = {}) {
  const sessions = new Map<string, Promise<LoadedModel>>();
  const get = async (path: string) => {
    const res = await fetcher(`${config.VERGE_CONTROL_PLANE_URL}${path}`, { headers: { authorization: `Bearer ${config.VERGE_CONTROL_PLANE_TOKEN}` } });
    if (res.status === 404) throw new ApiError("not_found", `the registry has no ${path.replace(/^\/v1\/models\//, "")}`);
    if (!res.ok) throw new ApiError("unavailable", `the registry answered ${res.status} for ${path}`);
    return res;
  };

  async function load(model: string, version: number): Promise<LoadedModel> {
    const meta = (await (await get(`/v1/models/${model}/versions/${version}`)).json()) as { sha256: string };
    const bytes = new Uint8Array(await (await get(`/v1/models/${model}/versions/${version}/artifact`)).arrayBuffer());
    if ((await sha256Hex(bytes)) !== meta.sha256) throw new ApiError("unavailable", `artifact of ${model} v${version} failed verification (sha256 mismatch)`);
    return { ...(await createSession(bytes, config.VERGE_EXECUTION_PROVIDER, sessionOptions)), sha256: meta.sha256 };
  }

  return {
    get(model: string, version: number): Promise<LoadedModel> {
      const key = `${model}@${version}`;
      let entry = sessions.get(key);
      if (!entry) {
        entry = load(model, version);
        sessions.set(key, entry);
        entry.catch(() => sessions.delete(key));
      }
      return entry;
    },
    loaded: () => sessions.size,
  };
}

export async function createSession(bytes: Uint8Array, preference: Config["VERGE_EXECUTION_PROVIDER"], options: ort.InferenceSession.SessionOptions = {}): Promise<{ session: ort.InferenceSession; provider: "cuda" | "cpu" }> {
  if (preference !== "cpu") {
    try {
      return { session: await ort.InferenceSession.create(bytes, { ...options, executionProviders: ["cuda"] }), provider: "cuda" };
    } catch (err) {
      if (preference === "cuda") throw new ApiError("unavailable", `CUDA execution provider unavailable: ${(err as Error).message}`);
    }
  }
  return { session: await ort.InferenceSession.create(bytes, { ...options, executionProviders: ["cpu"] }), provider: "cpu" };
}
