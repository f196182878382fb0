// The HTTP core of the client: one request function over any fetch, answers parsed with the
// endpoint's own response schema, and one error type that says what went wrong and where.
import { fillPath, type Endpoint } from "@verge/shared/api/endpoint";
import { z } from "zod";
import { endpointAt, type EndpointAt } from "./paths.ts";

export type Fetcher = (url: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Where the API lives, e.g. `http://127.0.0.1:8788`; empty when `fetch` takes bare paths. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  fetch?: Fetcher;
}

/** What a server answered, or that it could not be reached (`status` 0). */
export class VergeError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "VergeError";
  }
}

/** The inputs of an endpoint: path params, query, body (file and metadata for uploads), headers. */
export type InputOf<E extends Endpoint> = (E["params"] extends z.ZodType ? { params: z.input<E["params"]> } : { params?: undefined }) &
  (E["query"] extends z.ZodType ? { query?: Partial<z.input<E["query"]>> } : { query?: undefined }) &
  (E["body"] extends z.ZodType ? (E["multipart"] extends true ? { body: { artifact: Uint8Array; metadata: z.input<E["body"]> } } : { body: z.input<E["body"]> }) : { body?: undefined }) & {
    headers?: Record<string, string>;
  };

/** What an endpoint answers: parsed JSON, the bytes, the raw response for streams, or nothing. */
export type OutputOf<E extends Endpoint> = E["produces"] extends "binary"
  ? Uint8Array
  : E["produces"] extends "none"
    ? void
    : E["produces"] extends "sse" | "text"
      ? Response
      : E["response"] extends z.ZodType
        ? z.output<E["response"]>
        : void;

export interface RawResponse {
  status: number;
  body: unknown;
  headers: Headers;
}

export class HttpClient<C extends Record<string, Endpoint>> {
  private readonly base: string;
  private readonly fetcher: Fetcher;
  private readonly endpoints: readonly Endpoint[];

  constructor(
    readonly catalog: C,
    private readonly options: ClientOptions = {},
  ) {
    this.base = (options.baseUrl ?? "").replace(/\/$/, "");
    this.fetcher = options.fetch ?? ((url, init) => fetch(url, init));
    this.endpoints = Object.values(catalog);
  }

  /** Calls an endpoint of the catalog with typed inputs; the answer is checked against its schema. */
  async call<E extends C[keyof C]>(e: E, ...[input]: {} extends InputOf<E> ? [InputOf<E>?] : [InputOf<E>]): Promise<OutputOf<E>> {
    const i = (input ?? {}) as InputOf<Endpoint>;
    const query = i.query ? `?${queryString(i.query)}` : "";
    const path = fillPath(e.path, i.params ?? {}) + (query === "?" ? "" : query);
    const body = e.multipart && i.body ? uploadForm(i.body as { artifact: Uint8Array; metadata: unknown }) : i.body;
    const res = await this.send(e.method, path, body, i.headers);
    return this.answer(e, e.method, path, res) as Promise<OutputOf<E>>;
  }

  /** A call by method and path, as in curl; the matching endpoint's schema types and checks the answer. */
  async ok<M extends string, P extends string>(method: M, path: P, body?: unknown, headers?: Record<string, string>): Promise<[EndpointAt<C, M, P>] extends [never] ? unknown : OutputOf<EndpointAt<C, M, P>>> {
    const res = await this.send(method, path, body, headers);
    const e = endpointAt(this.endpoints, method, path);
    if (!e) {
      if (!res.ok) throw await errorOf(method, path, res);
      return (await readBody(res)) as never;
    }
    return (await this.answer(e, method, path, res)) as never;
  }

  /** The status, headers and body (JSON when it is JSON) of any request, whatever the status. */
  async raw(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse> {
    const res = await this.send(method, path, body, headers);
    return { status: res.status, headers: res.headers, body: await readBody(res) };
  }

  /** Sends a request: FormData as multipart, bytes as they are, anything else as JSON. */
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}), ...headers };
    let payload: BodyInit | undefined;
    if (body instanceof FormData) {
      // Encoded here, so every fetch implementation (undici, miniflare's, a browser's) sends the same bytes.
      const encoded = new Response(body);
      payload = new Uint8Array(await encoded.arrayBuffer());
      h["content-type"] = encoded.headers.get("content-type")!;
    } else if (body instanceof Uint8Array || typeof body === "string") {
      payload = body as BodyInit;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const url = `${this.base}${path}`;
    try {
      return await this.fetcher(url, { method: method.toUpperCase(), headers: h, ...(payload === undefined ? {} : { body: payload }) });
    } catch (err) {
      throw new VergeError(`cannot reach ${this.base || url}: ${(err as Error).message}`, 0, "unreachable");
    }
  }

  private async answer(e: Endpoint, method: string, path: string, res: Response): Promise<unknown> {
    if (!res.ok && res.status !== 304) throw await errorOf(method, path, res);
    const produces = e.produces ?? "json";
    if (produces === "sse" || produces === "text") return res;
    if (produces === "binary") return new Uint8Array(await res.arrayBuffer());
    if (produces === "none" || res.status === 204 || res.status === 304 || !e.response) {
      await res.body?.cancel();
      return undefined;
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VergeError(`${method.toUpperCase()} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`, res.status, "bad_response");
    }
    const parsed = e.response.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new VergeError(`${method.toUpperCase()} ${path} answered a body that breaks its contract at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`, res.status, "bad_response", parsed.error.issues);
    }
    return parsed.data;
  }
}

/** The query string of a flat object; undefined values are left out. */
export function queryString(q: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null) p.set(k, String(v));
  return p.toString();
}

/** The multipart form of a version upload: the ONNX file and its metadata as JSON. */
export function uploadForm(body: { artifact: Uint8Array; metadata: unknown }): FormData {
  const form = new FormData();
  form.set("artifact", new Blob([body.artifact as BlobPart]), "model.onnx");
  form.set("metadata", JSON.stringify(body.metadata));
  return form;
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  if ((res.headers.get("content-type") ?? "").includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

const errorBody = z.object({ error: z.union([z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }), z.string()]), code: z.string().optional() });

/** The server's error as a `VergeError`: `METHOD path → status code: message`. */
async function errorOf(method: string, path: string, res: Response): Promise<VergeError> {
  const body = await readBody(res);
  const parsed = errorBody.safeParse(body);
  if (parsed.success) {
    const e = parsed.data.error;
    const [code, message, details] = typeof e === "string" ? [parsed.data.code ?? String(res.status), e, undefined] : [e.code, e.message, e.details];
    return new VergeError(`${method.toUpperCase()} ${path} → ${res.status} ${code}: ${message}`, res.status, code, details);
  }
  return new VergeError(`${method.toUpperCase()} ${path} → ${res.status}: ${typeof body === "string" ? body.slice(0, 200) : JSON.stringify(body).slice(0, 200)}`, res.status, String(res.status));
}
