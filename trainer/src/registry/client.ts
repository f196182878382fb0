// The control plane as the trainer sees it: read versions and artifacts, create models,
// register versions (one atomic upload), point aliases.
import { ApiError, type LabelledFields, type LogRecord, type PutDeployment, type VersionMetadata } from "@verge/shared";
import type { Config } from "../config.ts";

export interface RegisteredVersion extends VersionMetadata {
  version: number;
  sha256: string;
  size: number;
}

export type RegistryClient = ReturnType<typeof registryClient>;

export function registryClient(config: Pick<Config, "VERGE_CONTROL_PLANE_URL" | "VERGE_CONTROL_PLANE_TOKEN">, fetcher: typeof fetch = fetch) {
  const base = config.VERGE_CONTROL_PLANE_URL.replace(/\/$/, "");
  async function call(method: string, path: string, body?: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetcher(`${base}${path}`, { method, body, headers: { authorization: `Bearer ${config.VERGE_CONTROL_PLANE_TOKEN}`, ...headers } });
    } catch (err) {
      throw new ApiError("unavailable", `the control plane at ${base} is unreachable (${(err as Error).message})`);
    }
    return res;
  }
  async function json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await call(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? headers : { "content-type": "application/json", ...headers });
    if (!res.ok) throw await registryError(method, path, res);
    return (await res.json()) as T;
  }
  /** `undefined` on 404. */
  async function maybe<T>(path: string): Promise<T | undefined> {
    const res = await call("GET", path);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await registryError("GET", path, res);
    return (await res.json()) as T;
  }

  return {
    async ensureModel(name: string, task: string): Promise<void> {
      const res = await call("POST", "/v1/models", JSON.stringify({ name, task }), { "content-type": "application/json" });
      if (res.ok || res.status === 409) return;
      throw await registryError("POST", "/v1/models", res);
    },
    versions: async (model: string) => (await maybe<{ versions: RegisteredVersion[] }>(`/v1/models/${model}/versions`))?.versions ?? [],
    version: (model: string, version: number) => maybe<RegisteredVersion>(`/v1/models/${model}/versions/${version}`),
    async alias(model: string, alias: string): Promise<number | undefined> {
      const list = await maybe<{ aliases: { alias: string; version: number }[] }>(`/v1/models/${model}/aliases`);
      return list?.aliases.find((a) => a.alias === alias)?.version;
    },
    async artifact(model: string, version: number): Promise<Uint8Array> {
      const path = `/v1/models/${model}/versions/${version}/artifact`;
      const res = await call("GET", path);
      if (!res.ok) throw await registryError("GET", path, res);
      return new Uint8Array(await res.arrayBuffer());
    },
    async register(model: string, artifact: Uint8Array, metadata: VersionMetadata): Promise<{ version: number; sha256: string; size: number }> {
      const form = new FormData();
      form.set("artifact", new Blob([artifact as BlobPart]), "model.onnx");
      form.set("metadata", JSON.stringify(metadata));
      const path = `/v1/models/${model}/versions`;
      const encoded = new Response(form);
      const res = await call("POST", path, new Uint8Array(await encoded.arrayBuffer()), { "content-type": encoded.headers.get("content-type")! });
      if (!res.ok) throw await registryError("POST", path, res);
      return (await res.json()) as { version: number; sha256: string; size: number };
    },
    deployment: (model: string) => maybe<PutDeployment & { revision: number }>(`/v1/models/${model}/deployment`),
    /** Replaces the deployment only if it is still at `revision` (409 otherwise). */
    putDeployment: (model: string, spec: PutDeployment, revision: number | undefined) =>
      json(`PUT`, `/v1/models/${model}/deployment`, spec, revision === undefined ? {} : { "if-match": `"${revision}"` }),
    promote: (model: string, body: { version: number; plan?: { steps: number[]; interval_s: number }; reason?: string }) => json<{ status: string }>("POST", `/v1/models/${model}/promote`, body),
    /** One page of the model's served logs (NDJSON), with the cursor of the next page, if any. */
    async logs(model: string, q: { from: number; to: number; version?: number | undefined; variant?: string | undefined; labels?: "include" | "only"; limit?: number; cursor?: string | undefined }): Promise<{ records: (LogRecord & LabelledFields)[]; next: string | undefined }> {
      const params = new URLSearchParams({ from: String(q.from), to: String(q.to) });
      for (const [k, v] of Object.entries({ version: q.version, variant: q.variant, labels: q.labels, limit: q.limit, cursor: q.cursor })) if (v !== undefined) params.set(k, String(v));
      const path = `/v1/models/${model}/logs?${params}`;
      const res = await call("GET", path);
      if (!res.ok) throw await registryError("GET", path, res);
      const text = await res.text();
      const records = text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as LogRecord & LabelledFields);
      return { records, next: res.headers.get("x-verge-next-cursor") ?? undefined };
    },
    ackAlert: (id: number) => json("POST", `/v1/alerts/${id}/ack`),
    createWebhook: (url: string) => json<{ id: string; secret: string }>("POST", "/v1/webhooks", { url }),
    setAlias: (model: string, alias: string, version: number, reason?: string) => json(`PUT`, `/v1/models/${model}/aliases/${alias}`, { version, ...(reason ? { reason } : {}) }),
  };
}

async function registryError(method: string, path: string, res: Response): Promise<ApiError> {
  const text = await res.text();
  let message = text.slice(0, 500);
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // not JSON: keep the text
  }
  const code = res.status === 400 || res.status === 413 ? "bad_request" : res.status === 401 ? "unauthorized" : res.status === 403 ? "forbidden" : res.status === 409 ? "conflict" : "unavailable";
  return new ApiError(code, `the control plane refused ${method} ${path} (${res.status}): ${message}`);
}
