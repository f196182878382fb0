// One error type and one error body for every part of Verge (gateway, control plane, trainer).
import { z } from "zod";

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const errorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * An error that knows its HTTP status and builds its own response body.
 *
 * @example
 * throw new ApiError("not_found", `model "${name}" does not exist`);
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.details = details;
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }

  toResponse(headers?: HeadersInit): Response {
    const h = new Headers(headers);
    h.set("content-type", "application/json; charset=utf-8");
    const retryAfter = (this.details as { retry_after_s?: unknown } | undefined)?.retry_after_s;
    // A 429, or a 503 that knows when capacity returns (a full queue), says when to retry.
    if ((this.code === "rate_limited" || this.code === "unavailable") && typeof retryAfter === "number") h.set("retry-after", String(retryAfter));
    return new Response(JSON.stringify(this.toBody()), { status: this.status, headers: h });
  }
}

/** Turns a zod error into a 400 whose message names the first offending field. */
export function validationError(error: z.ZodError, where = "body"): ApiError {
  const issues = error.issues.map(explainUnion).map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message,
  }));
  const first = issues[0];
  const message = first
    ? `${where}${first.path ? `.${first.path}` : ""}: ${first.message}`
    : `${where} is invalid`;
  return new ApiError("bad_request", message, { issues });
}

type Issue = z.core.$ZodIssue;

/**
 * A union's own message ("Invalid input") names nothing; report the issue of the alternative
 * that came closest (fewest issues, and among those the deepest path) instead.
 */
function explainUnion(issue: Issue): Issue {
  if (issue.code !== "invalid_union" || !issue.errors?.length) return issue;
  const best = [...issue.errors].sort((a, b) => a.length - b.length || (b[0]?.path.length ?? 0) - (a[0]?.path.length ?? 0))[0]!;
  const first = best[0];
  return first ? { ...explainUnion(first), path: [...issue.path, ...first.path] } : issue;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
}
