// Who may call the trainer's API: the control plane's own tokens, with the control plane's roles
// (viewer reads, operator runs built-in jobs and materialization, admin alone runs `command`
// jobs). A token is verified by asking the control plane who it is (GET /v1/whoami) and the
// answer is remembered briefly, keyed by the token's digest, so a revoked token stops working
// within the cache's lifetime. VERGE_TRAINER_TOKEN, when set, is a local operator token.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError, ROLES, whoamiSchema, type Endpoint, type Role } from "@verge/shared";
import { documented } from "@verge/shared/openapi";
import type { Config } from "../config.ts";

export interface Principal {
  actor: string;
  role: Role;
}

/** The Hono environment of every authenticated trainer route. */
export type TrainerEnv = { Variables: { principal: Principal } };

/** Answers who a bearer token is, or `undefined` for an unknown one. */
export type Authenticate = (token: string) => Promise<Principal | undefined>;

type AuthConfig = Pick<Config, "VERGE_CONTROL_PLANE_URL" | "VERGE_TRAINER_TOKEN" | "VERGE_AUTH_CACHE_MS">;

/** At most this many tokens are remembered; the oldest entry goes first. */
const CACHE_ENTRIES = 1024;

/**
 * @example
 * const auth = controlPlaneAuth(config);
 * new Hono().use("/v1/*", authenticated(auth))
 */
export function controlPlaneAuth(config: AuthConfig, fetcher: typeof fetch = fetch, entries = CACHE_ENTRIES): Authenticate {
  const local = config.VERGE_TRAINER_TOKEN ? digest(config.VERGE_TRAINER_TOKEN) : undefined;
  const cache = new Map<string, { principal: Principal | undefined; until: number }>();
  const whoami = `${config.VERGE_CONTROL_PLANE_URL.replace(/\/$/, "")}/v1/whoami`;
  return async (token) => {
    const hash = digest(token);
    // Compared as digests, so the comparison's timing says nothing about the token.
    if (local && timingSafeEqual(hash, local)) return { actor: "trainer-token", role: "operator" };
    const key = hash.toString("hex");
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    cache.delete(key);
    let res: Response;
    try {
      res = await fetcher(whoami, { headers: { authorization: `Bearer ${token}` } });
    } catch (err) {
      throw new ApiError("unavailable", `authorization: the control plane could not be reached to check the token (${(err as Error).message})`);
    }
    let principal: Principal | undefined;
    if (res.ok) {
      const parsed = whoamiSchema.safeParse(await res.json().catch(() => undefined));
      if (!parsed.success) throw new ApiError("unavailable", "authorization: the control plane's whoami answer did not parse");
      principal = parsed.data;
    } else if (res.status === 401 || res.status === 403) {
      // 403: a token the control plane knows but that is not an admin-API token (the gateway's).
      principal = undefined;
      await res.body?.cancel();
    } else {
      await res.body?.cancel();
      throw new ApiError("unavailable", `authorization: the control plane answered ${res.status} when checking the token`);
    }
    while (cache.size >= entries) cache.delete(cache.keys().next().value!);
    cache.set(key, { principal, until: Date.now() + config.VERGE_AUTH_CACHE_MS });
    return principal;
  };
}

/** Requires a bearer token the control plane (or VERGE_TRAINER_TOKEN) vouches for. */
export function authenticated(authenticate: Authenticate) {
  return createMiddleware<TrainerEnv>(async (c, next) => {
    const token = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "")?.[1]?.trim();
    if (!token) throw new ApiError("unauthorized", "authorization: a bearer token is required (a control-plane token, or VERGE_TRAINER_TOKEN)");
    const principal = await authenticate(token);
    if (!principal) throw new ApiError("unauthorized", "authorization: unknown or revoked token");
    c.set("principal", principal);
    await next();
  });
}

/** Whether the caller's role is at least `role`. */
export const hasRole = (c: Context<TrainerEnv>, role: Role) => ROLES.indexOf(c.get("principal").role) >= ROLES.indexOf(role);

/**
 * Guards a route with its endpoint contract: the role it needs is the contract's, and the route
 * is documented with it, so what is served, enforced and documented cannot drift apart.
 *
 * @example
 * new Hono<TrainerEnv>().get("/", guard(api.listJobs), handler)
 */
export function guard(e: Endpoint & { id: string; access: Role }) {
  return documented(
    createMiddleware<TrainerEnv>(async (c, next) => {
      if (!hasRole(c, e.access)) throw new ApiError("forbidden", `this route needs the ${e.access} role`);
      await next();
    }),
    e,
  );
}

const digest = (s: string) => createHash("sha256").update(s).digest();
