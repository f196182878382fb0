// Who may call the origin: the gateway, proven by its signature over method, host, path,
// timestamp, nonce and the body's sha256 (the secret both hold, VERGE_ORIGIN_SECRET). The body is
// limited before it is read, and each nonce is remembered for the replay window. `/metrics` also
// takes a bearer VERGE_METRICS_TOKEN, for scrapers that cannot sign.
import { createHash, timingSafeEqual } from "node:crypto";
import { createMiddleware } from "hono/factory";
import { ApiError, NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyOriginRequest } from "@verge/shared";
import type { Config } from "../config.ts";
import type { NonceMemory } from "./nonces.ts";

export type SignedEnv = { Variables: { body: Uint8Array } };

/** Verifies the signature of a request and hands its body on as `c.get("body")`. */
export function requireSignature(config: Pick<Config, "VERGE_ORIGIN_SECRET" | "VERGE_METRICS_TOKEN">, nonces: NonceMemory, options: { bearer?: boolean } = {}) {
  const metricsToken = config.VERGE_METRICS_TOKEN ? digest(config.VERGE_METRICS_TOKEN) : undefined;
  return createMiddleware<SignedEnv>(async (c, next) => {
    if (options.bearer && metricsToken) {
      const given = c.req.header("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
      // Compared as digests, so the comparison's timing says nothing about the token.
      if (given && timingSafeEqual(digest(given), metricsToken)) return next();
    }
    // Under the body limit (applied before this middleware): at most that many bytes are read.
    const body = new Uint8Array(await c.req.arrayBuffer());
    const url = new URL(c.req.url);
    const timestamp = c.req.header(TIMESTAMP_HEADER);
    const nonce = c.req.header(NONCE_HEADER);
    const verdict = await verifyOriginRequest(config.VERGE_ORIGIN_SECRET, { method: c.req.method, host: url.host, path: url.pathname, timestamp, nonce, signature: c.req.header(SIGNATURE_HEADER), body });
    if (!verdict.ok) throw new ApiError("unauthorized", `signature: ${verdict.reason}${options.bearer ? " (or authorization: Bearer VERGE_METRICS_TOKEN)" : ""}`);
    const remembered = nonces.remember(nonce!, Number(timestamp));
    if (remembered === "replayed") throw new ApiError("unauthorized", `signature: ${NONCE_HEADER} already used (a replayed request)`);
    if (remembered === "full") throw new ApiError("unavailable", "signature: too many signed requests inside the replay window to remember their nonces; retry shortly", { retry_after_s: 1 });
    c.set("body", body);
    await next();
  });
}

const digest = (s: string) => createHash("sha256").update(s).digest();
