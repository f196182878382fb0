// The control plane as the trainer sees it: read versions and artifacts, create models,
// register versions (one atomic upload), point aliases, deploy. A thin layer over the typed
// client that turns its errors into the trainer's own (and a 404 into "absent" where asked).
import { controlPlaneClient, VergeError } from "@verge/client";
import { ApiError, labelledLogRecordSchema, type ErrorCode, type LabelledFields, type LogRecord, type PutDeployment, type VersionMetadata, type VersionView } from "@verge/shared";
import type { Config } from "../config.ts";

export type RegisteredVersion = VersionView;

export type RegistryClient = ReturnType<typeof registryClient>;

export function registryClient(config: Pick<Config, "VERGE_CONTROL_PLANE_URL" | "VERGE_CONTROL_PLANE_TOKEN">, fetcher: typeof fetch = fetch) {
  const cp = controlPlaneClient({ baseUrl: config.VERGE_CONTROL_PLANE_URL, token: config.VERGE_CONTROL_PLANE_TOKEN, fetch: fetcher });
  const { api } = cp;
  /** The answer, `undefined` for a 404, and the trainer's error for anything else. */
  const maybe = async <T>(call: Promise<T>): Promise<T | undefined> => {
    try {
      return await call;
    } catch (err) {
      if (err instanceof VergeError && err.status === 404) return undefined;
      throw asApiError(err);
    }
  };
  const must = async <T>(call: Promise<T>): Promise<T> => {
    try {
      return await call;
    } catch (err) {
      throw asApiError(err);
    }
  };

  return {
    async ensureModel(name: string, task: "binary_classification" | "regression" | "multiclass"): Promise<void> {
      try {
        await api.createModel({ body: { name, task } });
      } catch (err) {
        if (!(err instanceof VergeError && err.status === 409)) throw asApiError(err);
      }
    },
    versions: async (model: string) => (await maybe(api.listVersions({ params: { model } })))?.versions ?? [],
    version: (model: string, version: number) => maybe(api.getVersion({ params: { model, version } })),
    async alias(model: string, alias: string): Promise<number | undefined> {
      const list = await maybe(api.listAliases({ params: { model } }));
      return list?.aliases.find((a) => a.alias === alias)?.version;
    },
    artifact: (model: string, version: number) => must(api.getArtifact({ params: { model, version } })),
    register: (model: string, artifact: Uint8Array, metadata: VersionMetadata) => must(cp.uploadVersion(model, artifact, metadata)),
    deployment: (model: string) => maybe(api.getDeployment({ params: { model } })),
    /** Replaces the deployment only if it is still at `revision` (409 otherwise). */
    putDeployment: (model: string, spec: PutDeployment, revision: number | undefined) =>
      must(api.putDeployment({ params: { model }, body: spec, ...(revision === undefined ? {} : { headers: { "if-match": `"${revision}"` } }) })),
    promote: (model: string, body: { version: number; plan?: { steps: number[]; interval_s: number }; reason?: string }) => must(api.promote({ params: { model }, body })),
    /** One page of the model's served logs, with the cursor of the next page, if any. */
    async logs(model: string, query: { from: number; to: number; version?: number | undefined; variant?: string | undefined; labels?: "include" | "only"; limit?: number; cursor?: string | undefined }): Promise<{ records: (LogRecord & Partial<LabelledFields>)[]; next: string | undefined }> {
      const res = await must(api.logs({ params: { model }, query }));
      const records = (await res.text())
        .split("\n")
        .filter(Boolean)
        .map((line) => labelledLogRecordSchema.parse(JSON.parse(line)));
      return { records, next: res.headers.get("x-verge-next-cursor") ?? undefined };
    },
    ackAlert: (id: number) => must(api.ackAlert({ params: { id } })),
    createWebhook: (url: string) => must(api.createWebhook({ body: { url } })),
    setAlias: (model: string, alias: string, version: number, reason?: string) => must(api.setAlias({ params: { model, alias }, body: { version, ...(reason ? { reason } : {}) } })),
  };
}

/**
 * The control plane's refusal in the trainer's terms: bad input stays bad input, a missing thing
 * stays missing, a conflict stays a conflict; the rest is unavailable.
 */
export function asApiError(err: unknown): ApiError {
  if (!(err instanceof VergeError)) return err instanceof ApiError ? err : new ApiError("unavailable", `the control plane failed: ${(err as Error).message}`);
  const code: ErrorCode =
    err.status === 400 || err.status === 413 ? "bad_request" : err.status === 401 ? "unauthorized" : err.status === 403 ? "forbidden" : err.status === 404 ? "not_found" : err.status === 409 ? "conflict" : "unavailable";
  const message = err.status === 0 ? `the control plane is unreachable (${err.message})` : `the control plane refused ${err.message}`;
  return new ApiError(code, message);
}
