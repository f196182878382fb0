// Client API keys: a key is accepted when its salted hash is in the snapshot and scoped to the model.
import { createMiddleware } from "hono/factory";
import { ApiError, saltedKeyHash, sha256Hex, type Snapshot } from "@verge/shared";
import type { AppEnv } from "../http/app.ts";
import { gatewayConfig } from "../config.ts";
import { takeGlobalToken } from "./global-limiter.ts";
import { takeToken } from "./rate-limit.ts";
import { getSnapshot } from "../snapshot/cache.ts";
import { findModel } from "../predict/identity.ts";

export type SnapshotKey = Snapshot["keys"][number];

/** Reads the key from `Authorization: Bearer …` or `x-verge-key`. */
export function presentedKey(headers: Headers): string | undefined {
  const bearer = /^Bearer (.+)$/i.exec(headers.get("authorization") ?? "")?.[1]?.trim();
  return bearer || headers.get("x-verge-key")?.trim() || undefined;
}

/** Presented key → its salted hash under a salt, so a busy client's key is hashed once per isolate and salt, not per request. */
const hashes = new Map<string, { salt: string; hash: string }>();
const MAX_CACHED_KEYS = 1024;

async function hashOf(key: string, salt: string): Promise<string> {
  const cached = hashes.get(key);
  if (cached?.salt === salt) return cached.hash;
  const hash = await saltedKeyHash(salt, await sha256Hex(key));
  if (hashes.size >= MAX_CACHED_KEYS) hashes.clear();
  hashes.set(key, { salt, hash });
  return hash;
}

/** Admits a known, unrevoked key; with a model, only one scoped to it. */
export async function authorizeKey(snapshot: Snapshot, headers: Headers, model: string | undefined): Promise<SnapshotKey> {
  const key = presentedKey(headers);
  if (!key) throw new ApiError("unauthorized", "authorization: a client key is required (Authorization: Bearer <key> or x-verge-key)");
  const hash = await hashOf(key, snapshot.key_salt);
  const entry = snapshot.keys.find((k) => k.hash === hash);
  if (!entry) throw new ApiError("unauthorized", "authorization: unknown or revoked client key");
  // A model that does not exist is a 404, not a permission problem (asked of a valid key only).
  if (model !== undefined) findModel(snapshot, model);
  if (model !== undefined && !entry.models.includes("*") && !entry.models.includes(model)) {
    throw new ApiError("forbidden", `this key may not call model "${model}"`);
  }
  return entry;
}


/**
 * Loads the snapshot and admits the request only with a key scoped to the `:model` in the path
 * (any valid key on routes without one), within the key's rate limit.
 *
 * @example
 * app.post("/v1/models/:model/predict", requireClientKey(), handler)
 */
export function requireClientKey() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const snapshot = await getSnapshot(c.env, c.executionCtx);
    const key = await authorizeKey(snapshot, c.req.raw.headers, c.req.param("model"));
    if (key.rate_limit) {
      const verdict = gatewayConfig(c.env).RATE_LIMIT_MODE === "global" ? await takeGlobalToken(c.env.RATE_LIMITER, key.id, key.rate_limit) : takeToken(key.id, key.rate_limit);
      if (!verdict.ok) {
        throw new ApiError("rate_limited", `this key is limited to ${key.rate_limit} requests per minute`, { retry_after_s: verdict.retryAfterS });
      }
    }
    c.set("key", key);
    c.set("snapshot", snapshot);
    await next();
  });
}
