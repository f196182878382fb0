// One Open Inference Protocol v2 call to one origin node. The request and the parsed response use
// only the protocol's documented fields, so the node may be a Verge trainer, Triton or a KServe
// InferenceService; Verge's HMAC signature (or a bearer token) travels in headers.
import { ApiError, DEADLINE_HEADER, oipErrorSchema, oipUpstreamInferResponseSchema, signOriginRequest, type OipInferRequest, type SnapshotVersion } from "@verge/shared";
import type { Outputs } from "./runtime.ts";

export type NodeAuth = { kind: "hmac"; secret: string } | { kind: "bearer"; token: string } | { kind: "none" };

/**
 * Whether a failed call may be tried again: `no` (it may have run, or the deadline is spent),
 * `elsewhere` (nothing ran, but this node said it is not ready: another node may take it), or
 * `anywhere` (the connection failed before anything ran: even this node may take it again, as a
 * pooled connection dropped while idle is worth a second try).
 */
export type Retry = "no" | "elsewhere" | "anywhere";

/** The class a failed call is logged under. */
export type OriginFailure = "timeout" | "origin_unreachable" | "origin_error";

/** A failed call; `nodeFault`: the node is unwell and its circuit should hear of it. */
export class OriginCallError extends ApiError {
  constructor(
    message: string,
    readonly retry: Retry,
    readonly nodeFault: boolean,
    readonly reason: OriginFailure = "origin_error",
  ) {
    super("unavailable", message, { reason });
  }
}

/** `/v2/models/{name}[/versions/{version}]/infer`, each segment escaped. */
export function inferPath(model: string, version: string | undefined): string {
  const base = `/v2/models/${encodeURIComponent(model)}`;
  return `${version === undefined ? base : `${base}/versions/${encodeURIComponent(version)}`}/infer`;
}

/** The request body: the version's input tensor, `[rows, width]` FP32, and the request's id. */
export function buildInferRequest(version: SnapshotVersion, input: Float32Array, rows: number, id: string): OipInferRequest {
  const width = rows ? input.length / rows : 0;
  return { id, inputs: [{ name: version.feature_spec.input, shape: [rows, width], datatype: "FP32", data: Array.from(input) }] };
}

/** The headers that authenticate one call to `url`; Verge's signature covers its host and path, with a fresh nonce. */
export async function authHeaders(auth: NodeAuth, method: string, url: string, body: string): Promise<Record<string, string>> {
  if (auth.kind === "hmac") return signOriginRequest(auth.secret, method, url, body);
  if (auth.kind === "bearer") return { authorization: `Bearer ${auth.token}` };
  return {};
}

/** An answer Verge cannot read: logged as an origin error. */
const unreadable = (message: string) => new ApiError("unavailable", message, { reason: "origin_error" });

const NUMERIC = /^(BOOL|U?INT(8|16|32|64)|FP(16|32|64))$/;

/**
 * The outputs of a response body for a request of `rows` rows: every numeric output tensor,
 * row-major, whose first dimension is the row count. Anything else is refused with a message
 * that says what the server sent.
 */
export function readInferResponse(json: unknown, rows: number, id?: string): Outputs {
  const parsed = oipUpstreamInferResponseSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw unreadable(`origin: not an Open Inference Protocol response (${issue.path.join(".") || "body"}: ${issue.message})`);
  }
  const answer = parsed.data;
  if (id !== undefined && answer.id != null && answer.id !== id) throw unreadable(`origin: answered request "${answer.id}" to request "${id}"`);
  const outputs: Outputs = {};
  for (const out of answer.outputs) {
    const where = `origin: output "${out.name}"`;
    if (!NUMERIC.test(out.datatype)) throw unreadable(`${where} is ${out.datatype}; Verge reads numeric tensors only`);
    const flat = (out.data as unknown[]).flat(Infinity as 1) as unknown[];
    const size = out.shape.reduce((a, b) => a * b, 1);
    if (flat.length !== size) throw unreadable(`${where}: shape [${out.shape.join(", ")}] holds ${size} values, data has ${flat.length}`);
    if (rows > 0 && out.shape[0] !== rows) throw unreadable(`${where}: ${out.shape[0] ?? 0} rows for a request of ${rows}`);
    const data = new Float32Array(flat.length);
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      const n = typeof v === "boolean" ? Number(v) : v;
      if (typeof n !== "number") throw unreadable(`${where}: data[${i}] is not a number`);
      data[i] = n;
    }
    outputs[out.name] = { data, width: rows ? flat.length / rows : 0 };
  }
  return outputs;
}

/**
 * The message of an error body: the protocol's `{"error": "<message>"}` (Verge's origin adds its
 * `code` beside it, as every Verge `/v2` route does), else the text itself.
 */
function errorMessage(text: string): string {
  try {
    const oip = oipErrorSchema.safeParse(JSON.parse(text));
    if (oip.success) return oip.data.error;
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200);
}

/**
 * Posts one infer request to one node within `timeoutMs` (what is left of the call's deadline,
 * `deadlineMs`, which a timeout names); fails with an `OriginCallError`.
 */
export async function inferOnNode(node: { url: string; auth: NodeAuth }, path: string, body: string, rows: number, id: string, time: { timeoutMs: number; deadlineMs: number }): Promise<Outputs> {
  const url = `${node.url}${path}`;
  // The deadline lets a Verge origin drop the request unrun once this call has given up on it.
  const headers = { "content-type": "application/json", [DEADLINE_HEADER]: String(Math.max(1, Math.ceil(time.timeoutMs))), ...(await authHeaders(node.auth, "POST", url, body)) };
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(Math.max(1, time.timeoutMs)) });
  } catch (err) {
    const name = (err as Error).name;
    if (name === "TimeoutError" || name === "AbortError") throw new OriginCallError(`origin ${node.url}: no answer within ${time.deadlineMs} ms`, "no", true, "timeout");
    throw new OriginCallError(`origin ${node.url}: unreachable (${(err as Error).message})`, "anywhere", true, "origin_unreachable");
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new OriginCallError(`origin ${node.url}: the answer broke off (${(err as Error).message})`, "no", true);
  }
  // 503: the node is starting or draining and ran nothing, so another node may answer instead.
  if (res.status === 503) throw new OriginCallError(`origin ${node.url}: not ready (${errorMessage(text)})`, "elsewhere", true);
  if (res.status >= 500) throw new OriginCallError(`origin ${node.url}: answered ${res.status} (${errorMessage(text)})`, "no", true);
  if (!res.ok) throw new OriginCallError(`origin refused the request: ${res.status} ${errorMessage(text)}`, "no", false);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new OriginCallError(`origin ${node.url}: the answer is not JSON`, "no", false);
  }
  return readInferResponse(json, rows, id);
}
