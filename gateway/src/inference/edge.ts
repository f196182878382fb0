// The edge runtime: artifacts from R2, verified by sha256, ORT sessions per isolate in an LRU
// cache bounded by artifact bytes (EDGE_SESSION_BUDGET_BYTES), so many versions cannot exhaust
// the isolate's memory.
import { ApiError, inputWidth, sha256Hex, type SnapshotVersion } from "@verge/shared";
import { createOrtSession, ort } from "./ort-web.ts";
import type { ModelRuntime, Outputs } from "./runtime.ts";
import { sessionCache, type SessionCache } from "./session-cache.ts";

type Session = Awaited<ReturnType<typeof createOrtSession>>;

let sessions: SessionCache<Session> | undefined;
let budget: number | undefined;

/** The isolate's cache; a changed budget (a new deployment's vars) starts a new one. */
function cacheFor(budgetBytes: number): SessionCache<Session> {
  if (!sessions || budget !== budgetBytes) {
    sessions = sessionCache<Session>({
      budgetBytes,
      release: (s) => s.release(),
      onEvict: (sha256, bytes, held) => console.log(JSON.stringify({ event: "edge_session_evicted", sha256, bytes, held, budget: budgetBytes })),
    });
    budget = budgetBytes;
  }
  return sessions;
}

export function edgeRuntime(artifacts: R2Bucket, budgetBytes: number): ModelRuntime {
  const cache = cacheFor(budgetBytes);
  return {
    run: (version, input, rows) =>
      cache.with(version.sha256, version.size, () => load(artifacts, version), async (session) => {
        const width = inputWidth(version.feature_spec);
        const feeds = { [version.feature_spec.input]: new ort.Tensor("float32", input, [rows, width]) };
        const result = await session.run(feeds);
        const outputs: Outputs = {};
        for (const name of session.outputNames) {
          const tensor = result[name]!;
          outputs[name] = { data: Float32Array.from(tensor.data as ArrayLike<number>), width: rows ? tensor.size / rows : 0 };
        }
        return outputs;
      }),
  };
}

async function load(artifacts: R2Bucket, version: SnapshotVersion): Promise<Session> {
  const object = await artifacts.get(version.artifact_key);
  if (!object) throw new ApiError("unavailable", `artifact for version ${version.version} is missing`, { reason: "artifact" });
  const bytes = new Uint8Array(await object.arrayBuffer());
  const actual = await sha256Hex(bytes);
  if (actual !== version.sha256) {
    throw new ApiError("unavailable", `artifact for version ${version.version} failed verification (sha256 mismatch)`, { reason: "artifact" });
  }
  return createOrtSession(bytes);
}
