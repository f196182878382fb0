// Models served on the origin: fetched from the registry by version, verified by sha256, one
// onnxruntime-node session per artifact. Execution providers are chosen explicitly: CUDA where
// its libraries load, else CPU — onnxruntime-node does not fall back by itself.
import * as ort from "onnxruntime-node";
import { controlPlaneClient, VergeError } from "@verge/client";
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
  const { api } = controlPlaneClient({ baseUrl: config.VERGE_CONTROL_PLANE_URL, token: config.VERGE_CONTROL_PLANE_TOKEN, fetch: fetcher });
  const registry = async <T>(call: Promise<T>, what: string): Promise<T> => {
    try {
      return await call;
    } catch (err) {
      if (err instanceof VergeError && err.status === 404) throw new ApiError("not_found", `the registry has no ${what}`);
      throw new ApiError("unavailable", `the registry failed for ${what}: ${(err as Error).message}`);
    }
  };

  async function load(model: string, version: number): Promise<LoadedModel> {
    const params = { model, version };
    const meta = await registry(api.getVersion({ params }), `${model}/versions/${version}`);
    const bytes = await registry(api.getArtifact({ params }), `${model}/versions/${version}/artifact`);
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
