// The one place a Hono context becomes what serving needs: bindings, snapshot, waitUntil, and
// the request's key and colo.
import type { Context } from "hono";
import type { AppEnv } from "./app.ts";
import { requestColo } from "../logging/log.ts";
import type { ServeContext } from "../predict/serve.ts";

export function serveContext(c: Context<AppEnv>): ServeContext {
  return { env: c.env, snapshot: c.get("snapshot"), waitUntil: (p) => c.executionCtx.waitUntil(p) };
}

/** Who asked and where it was served, for the log records. */
export function caller(c: Context<AppEnv>): { keyId: string | undefined; colo: string | undefined } {
  return { keyId: c.get("key")?.id, colo: requestColo(c.req.raw) };
}
