// Bearer-token authentication and role checks for the admin API.
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app.ts";
import { and, eq, isNull } from "drizzle-orm";
import { ApiError, ROLES, sha256Hex, type Endpoint, type Role } from "@verge/shared";
import { documented } from "@verge/shared/openapi";
import { db } from "../db/client.ts";
import { tokens } from "../db/schema.ts";

export { ROLES, type Role };

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

/**
 * Guards a route with its endpoint contract: enforces the contract's access and documents the
 * route with it, so what is served, what is enforced and what is documented cannot drift apart.
 *
 * @example
 * app.get("/:model/metrics", guard(api.metrics), validate("query", metricsQuerySchema), handler)
 */
export function guard(e: Endpoint & { id: string; access: Role | "gateway" }) {
  return documented(requireRole(e.access), e);
}

async function authenticate(env: Env, token: string): Promise<Principal | undefined> {
  // Compared as digests, so the comparison's timing says nothing about the secret.
  const hash = await sha256Hex(token);
  if (env.ADMIN_TOKEN && hash === (await sha256Hex(env.ADMIN_TOKEN))) return { kind: "token", actor: "bootstrap-admin", role: "admin" };
  if (env.GATEWAY_TOKEN && hash === (await sha256Hex(env.GATEWAY_TOKEN))) return { kind: "gateway", actor: "gateway" };
  const row = await db(env)
    .select({ id: tokens.id, name: tokens.name, role: tokens.role })
    .from(tokens)
    .where(and(eq(tokens.hash, hash), isNull(tokens.revokedAt)))
    .get();
  return row ? { kind: "token", actor: `token:${row.id}:${row.name}`, role: row.role } : undefined;
}
