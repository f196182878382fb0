// The gateway's origin pools, parsed once per isolate from ORIGIN_POOLS / ORIGIN_URL through the
// shared schema, with each pool's secret read from the binding it names. The node state (circuits,
// outstanding counts) lives as long as the isolate and the configuration it was built from.
import { ApiError, DEFAULT_POOL, originPoolsFrom, type OriginPool } from "@verge/shared";
import type { NodeAuth } from "./oip-client.ts";
import { NodePool } from "./pool.ts";

export interface ResolvedPool {
  name: string;
  nodes: NodePool;
  auth: NodeAuth;
  deadlineMs: number;
  modelNames: Record<string, string>;
  versions: OriginPool["versions"];
}

/** What a pool needs from the gateway's bindings. */
export interface PoolEnv {
  ORIGIN_POOLS?: string | undefined;
  ORIGIN_URL?: string | undefined;
  ORIGIN_DEADLINE_MS?: string | undefined;
  ORIGIN_BREAKER_COOLDOWN_MS?: string | undefined;
}

/** Each pool, or why it cannot serve (a missing secret fails its own pool, not the others). */
type Pools = { ok: true; pools: Map<string, ResolvedPool | string> } | { ok: false; message: string };

let cached: { key: string; pools: Pools } | undefined;

/** The pool a version runs on; a clear 503 when it is missing or misconfigured (logged as `no_origin`). */
export function poolFor(env: PoolEnv, name: string | undefined): ResolvedPool {
  const noOrigin = (message: string) => new ApiError("unavailable", message, { reason: "no_origin" });
  const pools = resolvePools(env);
  if (!pools.ok) throw noOrigin(`origin: ${pools.message}`);
  const wanted = name ?? DEFAULT_POOL;
  const pool = pools.pools.get(wanted);
  if (typeof pool === "string") throw noOrigin(`origin: ${pool}`);
  if (pool) return pool;
  throw noOrigin(
    wanted === DEFAULT_POOL ? "origin: this gateway has no origin configured (ORIGIN_URL and ORIGIN_SECRET, or a \"default\" pool in ORIGIN_POOLS)" : `origin: this gateway has no origin pool "${wanted}" (ORIGIN_POOLS)`,
  );
}

export function resolvePools(env: PoolEnv): Pools {
  const bindings = env as Record<string, unknown>;
  // Secrets are part of the key, so a rotated secret takes effect; they are never logged.
  const key = JSON.stringify([env.ORIGIN_POOLS, env.ORIGIN_URL, env.ORIGIN_DEADLINE_MS, env.ORIGIN_BREAKER_COOLDOWN_MS, secretsOf(env.ORIGIN_POOLS, bindings)]);
  if (cached?.key === key) return cached.pools;
  cached = { key, pools: build(env, bindings) };
  return cached.pools;
}

function build(env: PoolEnv, bindings: Record<string, unknown>): Pools {
  const parsed = originPoolsFrom(env);
  if (!parsed.ok) return parsed;
  const deadlineMs = Number(env.ORIGIN_DEADLINE_MS) || 2000;
  const coolDownMs = Number(env.ORIGIN_BREAKER_COOLDOWN_MS) || 10_000;
  const pools = new Map<string, ResolvedPool | string>();
  for (const [name, pool] of Object.entries(parsed.pools)) {
    let auth: NodeAuth = { kind: "none" };
    if (pool.auth.kind !== "none") {
      const binding = pool.auth.kind === "hmac" ? pool.auth.secret : pool.auth.token;
      const value = bindings[binding];
      if (typeof value !== "string" || !value) {
        pools.set(name, `pool "${name}" authenticates with the binding ${binding}, which is not set (wrangler secret put ${binding})`);
        continue;
      }
      auth = pool.auth.kind === "hmac" ? { kind: "hmac", secret: value } : { kind: "bearer", token: value };
    }
    pools.set(name, {
      name,
      nodes: new NodePool(pool.nodes, { failures: pool.breaker.failures, coolDownMs: pool.breaker.cool_down_ms ?? coolDownMs }),
      auth,
      deadlineMs: pool.deadline_ms ?? deadlineMs,
      modelNames: pool.model_names,
      versions: pool.versions,
    });
  }
  return { ok: true, pools };
}

/** The values of every binding a configuration could name for auth (the default secret included). */
function secretsOf(raw: string | undefined, bindings: Record<string, unknown>): unknown[] {
  const names = new Set(["ORIGIN_SECRET", ...(raw?.match(/"[A-Z][A-Z0-9_]{0,63}"/g) ?? []).map((s) => s.slice(1, -1))]);
  return [...names].sort().map((n) => bindings[n]);
}
