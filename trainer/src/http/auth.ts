// Who may call the trainer's operator API. Today one bearer token (VERGE_TRAINER_TOKEN) admits
// every route; the check lives here alone so that roles (control-plane tokens) replace it in one place.
import { createHash, timingSafeEqual } from "node:crypto";
import { createMiddleware } from "hono/factory";
import { ApiError } from "@verge/shared";
import type { Config } from "../config.ts";

/**
 * @example
 * new Hono().use("/v1/*", requireOperator(config))
 */
export function requireOperator(config: Pick<Config, "VERGE_TRAINER_TOKEN">) {
  const expected = config.VERGE_TRAINER_TOKEN ? digest(config.VERGE_TRAINER_TOKEN) : undefined;
  return createMiddleware(async (c, next) => {
    if (!expected) throw new ApiError("unavailable", "the trainer API is off: set VERGE_TRAINER_TOKEN");
    const given = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    // Compared as digests, so the comparison's timing says nothing about the token.
    if (!given || !timingSafeEqual(digest(given), expected)) throw new ApiError("unauthorized", "authorization: a valid trainer token is required (Bearer VERGE_TRAINER_TOKEN)");
    await next();
  });
}

const digest = (s: string) => createHash("sha256").update(s).digest();
