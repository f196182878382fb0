// Models served on the origin: fetched from the registry by version, verified by sha256, one
// onnxruntime-node session per artifact. Only versions whose deployment target is `origin` load:
// an edge version's artifact is never fetched here. Sessions live in an LRU under a memory budget
// (artifact bytes as the size proxy), so a loop over versions cannot exhaust the node's memory.
// Execution providers are chosen explicitly: CUDA where its libraries load, else CPU —
// onnxruntime-node does not fall back by itself.
import * as ort from "onnxruntime-node";
import { controlPlaneClient, VergeError } from "@verge/client";
import { ApiError, sha256Hex } from "@verge/shared";
import type { Config } from "../config.ts";

export interface LoadedModel {
  session: ort.InferenceSession;
  provider: "cuda" | "cpu";
  sha256: string;
}

/** A loaded model held for one request; `release` once done, so an evicted session is freed only when unused. */
export interface Lease extends LoadedModel {
  release(): void;
}

export type ModelCache = ReturnType<typeof modelCache>;

interface Entry {
  key: string;
  model: string;
  version: number;
  loading: Promise<LoadedModel>;
  /** Artifact bytes, counted against the budget from the moment the load starts. */
  bytes: number;
  leases: number;
  evicted: boolean;
}

/** Sessions per model version. `sessionOptions` (e.g. `intraOpNumThreads`) apply to every session. */
export function modelCache(config: Pick<Config, "VERGE_CONTROL_PLANE_URL" | "VERGE_CONTROL_PLANE_TOKEN" | "VERGE_EXECUTION_PROVIDER" | "VERGE_MODEL_MEMORY_MB">, fetcher: typeof fetch = fetch, sessionOptions: ort.InferenceSession.SessionOptions = {}, onEvict?: (model: string, version: number) => void) {
  const budget = config.VERGE_MODEL_MEMORY_MB * 1024 * 1024;
  // A Map keeps insertion order: re-inserting on use makes its first entry the least recently used.
  const entries = new Map<string, Entry>();
  let used = 0;
  const { api } = controlPlaneClient({ baseUrl: config.VERGE_CONTROL_PLANE_URL, token: config.VERGE_CONTROL_PLANE_TOKEN, fetch: fetcher });
  const registry = async <T>(call: Promise<T>, what: string): Promise<T> => {
    try {
      return await call;
    } catch (err) {
      if (err instanceof VergeError && err.status === 404) throw new ApiError("not_found", `the registry has no ${what}`);
      throw new ApiError("unavailable", `the registry failed for ${what}: ${(err as Error).message}`);
    }
  };

  function drop(entry: Entry, failed = false): void {
    if (entry.evicted) return;
    entry.evicted = true;
    if (entries.get(entry.key) === entry) entries.delete(entry.key);
    used -= entry.bytes;
    if (entry.leases === 0) void free(entry);
    if (entry.bytes > 0 && !failed) onEvict?.(entry.model, entry.version);
  }
  // Released once no request holds it: a run in flight keeps its session.
  const free = (entry: Entry) => entry.loading.then((m) => m.session.release(), () => undefined);

  /** Evicts least recently used sessions until `bytes` more fit in the budget. */
  function makeRoom(bytes: number): void {
    for (const entry of entries.values()) {
      if (used + bytes <= budget) return;
      // Entries still fetching their metadata hold nothing yet.
      if (entry.bytes > 0) drop(entry);
    }
  }

  async function load(model: string, version: number, reserve: (bytes: number) => Entry): Promise<LoadedModel> {
    const params = { model, version };
    const meta = await registry(api.getVersion({ params }), `${model}/versions/${version}`);
    // Checked before the artifact is fetched: an edge version never costs this node a download.
    if (meta.runtime !== "origin") throw new ApiError("conflict", `${model} v${version} is deployed to the ${meta.runtime}, not the origin`);
    if (meta.size > budget) throw new ApiError("conflict", `${model} v${version} (${meta.size} bytes) exceeds this origin's model memory budget (VERGE_MODEL_MEMORY_MB=${config.VERGE_MODEL_MEMORY_MB})`);
    reserve(meta.size);
    const bytes = await registry(api.getArtifact({ params }), `${model}/versions/${version}/artifact`);
    if ((await sha256Hex(bytes)) !== meta.sha256) throw new ApiError("unavailable", `artifact of ${model} v${version} failed verification (sha256 mismatch)`);
    return { ...(await createSession(bytes, config.VERGE_EXECUTION_PROVIDER, sessionOptions)), sha256: meta.sha256 };
  }

  return {
    /** The version's session, loaded if needed; the caller must `release` the lease. */
    async acquire(model: string, version: number): Promise<Lease> {
      const key = `${model}@${version}`;
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
        entries.set(key, entry);
      } else {
        const created: Entry = { key, model, version, loading: undefined as unknown as Promise<LoadedModel>, bytes: 0, leases: 0, evicted: false };
        entry = created;
        entries.set(key, created);
        created.loading = load(model, version, (bytes) => {
          // Counted before the download, so concurrent loads cannot overshoot the budget together.
          entries.delete(key);
          makeRoom(bytes);
          if (created.evicted) return created;
          created.bytes = bytes;
          used += bytes;
          entries.set(key, created);
          return created;
        });
        created.loading.catch(() => drop(created, true));
      }
      const held = entry;
      held.leases++;
      let loaded: LoadedModel;
      try {
        loaded = await held.loading;
      } catch (err) {
        held.leases--;
        throw err;
      }
      let released = false;
      return {
        ...loaded,
        release() {
          if (released) return;
          released = true;
          held.leases--;
          if (held.evicted && held.leases === 0) void free(held);
        },
      };
    },
    /** Model versions with a session (or loading one) on this node. */
    loaded: () => entries.size,
    /** Artifact bytes of those versions: what the memory budget bounds. */
    bytes: () => used,
    budget,
    keys: () => [...entries.keys()],
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
