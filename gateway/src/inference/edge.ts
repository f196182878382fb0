// The edge runtime: artifacts from R2, verified by sha256, one ORT session per artifact per isolate.
import { ApiError, inputWidth, sha256Hex, type SnapshotVersion } from "@verge/shared";
import { createOrtSession, ort } from "./ort-web.ts";
import type { ModelRuntime, Outputs } from "./runtime.ts";

type Session = Awaited<ReturnType<typeof createOrtSession>>;

const sessions = new Map<string, Promise<Session>>();

export function edgeRuntime(artifacts: R2Bucket): ModelRuntime {
  return {
    async run(version, input, rows) {
      const session = await sessionFor(artifacts, version);
      const width = inputWidth(version.feature_spec);
      const feeds = { [version.feature_spec.input]: new ort.Tensor("float32", input, [rows, width]) };
      const result = await session.run(feeds);
      const outputs: Outputs = {};
      for (const name of session.outputNames) {
        const tensor = result[name]!;
        outputs[name] = { data: Float32Array.from(tensor.data as ArrayLike<number>), width: rows ? tensor.size / rows : 0 };
      }
      return outputs;
    },
  };
}

function sessionFor(artifacts: R2Bucket, version: SnapshotVersion): Promise<Session> {
  let session = sessions.get(version.sha256);
  if (!session) {
    session = load(artifacts, version);
    sessions.set(version.sha256, session);
    // A failed load is not cached: the next request tries again.
    session.catch(() => sessions.delete(version.sha256));
  }
  return session;
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
