// The HTTP edge every part shares: one error handler and request validation with shared schemas
// (each validator also documents its schema for the OpenAPI document).
import type { Context } from "hono";
import { zValidator } from "@hono/zod-validator";
import { validator } from "hono/validator";
import type { z } from "zod";
import { ApiError, validationError } from "./errors.ts";
import { documentRequest } from "./openapi.ts";

/** Errors that mean "someone changed this concurrently" or "it already exists". */
const CONFLICTS: readonly [RegExp, string][] = [
  [/CHECK constraint failed: precondition/, "the resource changed concurrently; read it again and retry"],
  [/UNIQUE constraint failed|PRIMARY KEY constraint failed/, "it already exists"],
];

/** Maps anything thrown to the shared error shape. Unknown errors become a bare 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const status = typeof err === "object" && err !== null && "status" in err ? Number((err as { status: unknown }).status) : 0;
  const message = err instanceof Error ? err.message : String(err);
  if (status === 413) return new ApiError("payload_too_large", message || "body is too large");
  if (status === 400) return new ApiError("bad_request", /JSON/i.test(message) ? `body: malformed JSON (${message})` : message);
  if (status === 401) return new ApiError("unauthorized", message || "unauthorized");
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    for (const [pattern, text] of CONFLICTS) if (pattern.test(e.message)) return new ApiError("conflict", text);
  }
  return new ApiError("internal", "internal error");
}

/** Whether a path belongs to the Open Inference Protocol, whose clients expect its own error body. */
export const isOipPath = (path: string) => path === "/v2" || path.startsWith("/v2/");

/**
 * The error as the Open Inference Protocol's clients read it, `{"error": "<message>"}`, with
 * Verge's code alongside; same status as the shared shape.
 */
export function oipErrorResponse(apiError: ApiError): Response {
  const res = apiError.toResponse();
  return new Response(JSON.stringify({ error: apiError.message, code: apiError.code }), { status: res.status, headers: res.headers });
}

/** The one `onError` for a Hono app: the shared shape out (the protocol's under `/v2`), internals only in the log. */
export function onError(err: Error, c: Context): Response {
  const apiError = toApiError(err);
  if (apiError.code === "internal") console.error(`${c.req.method} ${c.req.path} failed:`, err);
  return isOipPath(c.req.path) ? oipErrorResponse(apiError) : apiError.toResponse();
}

/** The one `notFound`: a 404 in the shared shape (the protocol's under `/v2`). */
export function notFound(c: Context): Response {
  const apiError = new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`);
  return isOipPath(c.req.path) ? oipErrorResponse(apiError) : apiError.toResponse();
}

/**
 * Validates one part of the request with a shared schema; a failure is a 400 naming the field.
 *
 * @example
 * app.post("/v1/models", validate("json", createModelSchema), (c) => c.json(c.req.valid("json")))
 */
export function validate<T extends z.ZodType, Target extends "query" | "param" | "header">(target: Target, schema: T) {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) throw validationError(result.error as unknown as z.ZodError, target);
  });
  return documentRequest(middleware, target, schema);
}

/**
 * Parses the body as JSON whatever its content type says (clients such as `curl -d` send JSON as
 * a form), then validates it with a shared schema. An empty body is `{}`.
 *
 * @example
 * app.post("/v1/models", jsonBody(createModelSchema), (c) => c.json(c.req.valid("json")))
 */
/**
 * Parses JSON text and validates it with a shared schema, for bodies read as text first (to check
 * a signature, or a form's part): a 400 naming `where` for malformed JSON or the first bad field.
 *
 * @example
 * const event = parseJson(alertEventSchema, await c.req.text());
 */
export function parseJson<T extends z.ZodType>(schema: T, text: string, where = "body"): z.output<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ApiError("bad_request", `${where}: malformed JSON (${(err as Error).message})`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw validationError(result.error as unknown as z.ZodError, where);
  return result.data as z.output<T>;
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  const middleware = validator("json", async (value, c): Promise<z.output<T>> => {
    if (!/^application\/([a-z0-9.+-]+\+)?json/i.test(c.req.header("content-type") ?? "")) {
      const text = await c.req.text();
      return parseJson(schema, text.trim() === "" ? "{}" : text);
    }
    const result = schema.safeParse(value);
    if (!result.success) throw validationError(result.error as unknown as z.ZodError, "body");
    return result.data as z.output<T>;
  });
  return documentRequest(middleware, "json", schema);
}
