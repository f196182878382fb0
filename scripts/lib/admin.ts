// A small admin-API client over any fetch function (the local stack's port, or miniflare).
import type { VersionMetadata } from "@verge/shared";

export type FetchLike = (path: string, init?: RequestInit) => Promise<Response>;

export class AdminClient {
  constructor(
    private readonly fetcher: FetchLike,
    private readonly token: string,
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${this.token}`, ...headers } };
    if (body instanceof FormData) {
      // Encoded here, so any fetch implementation (undici, miniflare's) sends the same bytes.
      const encoded = new Response(body);
      init.body = new Uint8Array(await encoded.arrayBuffer());
      (init.headers as Record<string, string>)["content-type"] = encoded.headers.get("content-type")!;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const res = await this.fetcher(path, init);
    const text = await res.text();
    // JSON bodies are parsed; anything else (NDJSON logs included) comes back as text.
    const json = /application\/(?:[\w.-]+\+)?json\b/.test(res.headers.get("content-type") ?? "");
    return { status: res.status, body: (json && text ? JSON.parse(text) : text || null) as T, headers: res.headers };
  }

  /** Like `call`, but throws unless the status is 2xx. */
  async ok<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call<T>(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  uploadVersion(model: string, artifact: Uint8Array, metadata: VersionMetadata | Record<string, unknown>) {
    const form = new FormData();
    form.set("artifact", new Blob([artifact as BlobPart]), "model.onnx");
    form.set("metadata", JSON.stringify(metadata));
    return this.ok<{ version: number; sha256: string; size: number }>("POST", `/v1/models/${model}/versions`, form);
  }
}
