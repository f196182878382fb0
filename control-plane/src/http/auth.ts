// Bearer-token authentication and role checks for the admin API.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app.ts";
import { ApiError, sha256Hex } from "@verge/shared";

export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: an admin-API token holder, or a gateway fetching snapshots. */
export type Principal = { kind: "token"; actor: string; role: Role } | { kind: "gateway"; actor: "gateway" };

/**
 * Requires a bearer token whose role is at least `role`; `"gateway"` admits only gateways.
 *
 * @example
 * app.post("/v1/models", requireRole("operator"), handler)
 */
export function requireRole(role: Role | "gateway") {
  return createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const token = /^Bearer (.+)$/i.exec(header)?.[1]?.trim();
    if (!token) throw new ApiError("unauthorized", "authorization: a bearer token is required");
    const principal = await authenticate(c.env, token);
    if (!principal) throw new ApiError("unauthorized", "authorization: unknown or revoked token");
    if (role === "gateway" ? principal.kind !== "gateway" : principal.kind !== "token" || ROLES.indexOf(principal.role) < ROLES.indexOf(role)) {
      throw new ApiError("forbidden", `this route needs the ${role} role`);
    }
    c.set("principal", principal);
    await next();
  });
}

async function authenticate(env: Env, token: string): Promise<Principal | undefined> {
  const hash = await sha256Hex(token);
  if (env.ADMIN_TOKEN && hash === (await sha256Hex(env.ADMIN_TOKEN))) return { kind: "token", actor: "bootstrap-admin", role: "admin" };
  if (env.GATEWAY_TOKEN && hash === (await sha256Hex(env.GATEWAY_TOKEN))) return { kind: "gateway", actor: "gateway" };
  return undefined;
}
