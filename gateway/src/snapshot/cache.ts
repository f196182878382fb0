// The routing snapshot as an isolate sees it: in memory for a short TTL, revalidated with the
// control plane by ETag, and kept in KV as the last known good copy for cold isolates.
import { gatewayConfig } from "../config.ts";
import { ApiError, snapshotSchema, type Snapshot } from "@verge/shared";

type WaitUntil = Pick<ExecutionContext, "waitUntil">;

const KV_KEY = "snapshot:last-good";

interface Held {
  snapshot: Snapshot;
  etag: string | undefined;
  checkedAt: number;
}

let held: Held | undefined;
let refreshing: Promise<Held | undefined> | undefined;

/**
 * The current snapshot. Within the TTL it costs nothing; after it, one request per isolate
 * revalidates by ETag (a 304 over the service binding) while concurrent ones share that call.
 * If the control plane fails, the held copy serves; a cold isolate falls back to KV.
 */
export async function getSnapshot(env: Env, ctx: WaitUntil): Promise<Snapshot> {
  if (held && Date.now() - held.checkedAt < gatewayConfig(env).SNAPSHOT_TTL_MS) return held.snapshot;
  const fresh = await refresh(env, ctx);
  if (fresh) return fresh.snapshot;
  if (held) return held.snapshot;
  const lastGood = await env.SNAPSHOT_CACHE.get(KV_KEY, "json").catch(() => null);
  const parsed = snapshotSchema.safeParse(lastGood);
  if (!parsed.success) throw new ApiError("unavailable", "no routing snapshot: the control plane is unreachable and none is cached");
  // Keep it, but as already expired, so the next request tries the control plane again.
  held = { snapshot: parsed.data, etag: undefined, checkedAt: 0 };
  return parsed.data;
}

function refresh(env: Env, ctx: WaitUntil): Promise<Held | undefined> {
  refreshing ??= revalidate(env, ctx).finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

async function revalidate(env: Env, ctx: WaitUntil): Promise<Held | undefined> {
  const headers: Record<string, string> = { authorization: `Bearer ${env.GATEWAY_TOKEN}` };
  if (held?.etag) headers["if-none-match"] = held.etag;
  try {
    const res = await env.CONTROL_PLANE.fetch("https://control-plane/v1/snapshot", { headers });
    if (res.status === 304 && held) {
      held = { ...held, checkedAt: Date.now() };
      return held;
    }
    if (!res.ok) throw new Error(`control plane answered ${res.status}`);
    const body: unknown = await res.json();
    const snapshot = snapshotSchema.parse(body);
    held = { snapshot, etag: res.headers.get("etag") ?? undefined, checkedAt: Date.now() };
    ctx.waitUntil(env.SNAPSHOT_CACHE.put(KV_KEY, JSON.stringify(body)).catch(() => undefined));
    return held;
  } catch (err) {
    console.warn(`snapshot refresh failed: ${(err as Error).message}`);
    // Serve the held copy for another TTL before trying again, so an outage costs one call per TTL.
    if (held) held = { ...held, checkedAt: Date.now() };
    return undefined;
  }
}

/** Drops the isolate's copy (tests and benchmarks use it to simulate a cold isolate). */
export function forgetSnapshot(): void {
  held = undefined;
}
