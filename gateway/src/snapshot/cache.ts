// The routing snapshot as an isolate sees it: in memory for a short TTL, then revalidated against
// the colo's shared copy (colo.ts) and, when that is stale too, with the control plane by ETag; kept
// in KV as the last known good copy for cold isolates.
import { gatewayConfig } from "../config.ts";
import { ApiError, snapshotSchema, type Snapshot } from "@verge/shared";
import { readClaim, readColoCopy, writeClaim, writeColoCopy, type ColoCopy } from "./colo.ts";

type WaitUntil = Pick<ExecutionContext, "waitUntil">;

const KV_KEY = "snapshot:last-good";
/** Longest an isolate waits on another's revalidation (capped at the TTL) before asking itself. */
const CLAIM_MS = 1000;
/** Longest stretch before the TTL's end in which an isolate may refresh early (see `checkAt`). */
const REFRESH_AHEAD_MS = 500;
/** How long a background claimant lets concurrent claims land before reading the claim back. */
const CLAIM_SETTLE_MS = 100;

interface Held {
  snapshot: Snapshot;
  /** The JSON it came as, to share with the colo after a 304. */
  body: string;
  etag: string | undefined;
  /** When the control plane last vouched for it; the TTL counts from here, wherever the copy came from. */
  fetchedAt: number;
  /** Served without a check until then. */
  until: number;
}

let held: Held | undefined;
let refreshing: Promise<Held | undefined> | undefined;

/**
 * The current snapshot. Within the TTL it costs nothing; after it, one request per isolate
 * revalidates (the colo's copy, else a 304 over the service binding) while concurrent ones share
 * that call. If the control plane fails, the held copy serves; a cold isolate falls back to KV.
 */
export async function getSnapshot(env: Env, ctx: WaitUntil): Promise<Snapshot> {
  const now = Date.now();
  if (held && now < held.until) return held.snapshot;
  // Past this isolate's refresh point but still within the TTL: serve, and refresh in the background.
  if (held && now < held.fetchedAt + gatewayConfig(env).SNAPSHOT_TTL_MS) {
    if (!refreshing) ctx.waitUntil(refresh(env, ctx, true));
    return held.snapshot;
  }
  const fresh = await refresh(env, ctx, false);
  if (fresh) return fresh.snapshot;
  if (held) return held.snapshot;
  const lastGood = await env.SNAPSHOT_CACHE.get(KV_KEY, "json").catch(() => null);
  const parsed = snapshotSchema.safeParse(lastGood);
  if (!parsed.success) throw new ApiError("unavailable", "no routing snapshot: the control plane is unreachable and none is cached");
  // Keep it, but as already expired, so the next request tries the control plane again.
  held = { snapshot: parsed.data, body: JSON.stringify(lastGood), etag: undefined, fetchedAt: 0, until: 0 };
  return parsed.data;
}

function refresh(env: Env, ctx: WaitUntil, ahead: boolean): Promise<Held | undefined> {
  refreshing ??= revalidate(env, ctx, ahead).finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

/**
 * When an isolate checks a copy vouched for at `fetchedAt` again: within the TTL, at a random point
 * of its last stretch. Copies shared through the colo carry the same `fetchedAt`, so without this
 * every isolate of a colo would find the copy stale at the same instant and all ask the control
 * plane together; spread out, the first one claims the refresh and the rest adopt its result.
 */
const checkAt = (fetchedAt: number, ttl: number) => fetchedAt + ttl - Math.random() * Math.min(ttl / 4, REFRESH_AHEAD_MS);

/** A copy the control plane vouched for at `fetchedAt`, trusted for the rest of its TTL. */
function hold(body: string, snapshot: Snapshot | undefined, etag: string | undefined, fetchedAt: number, ttl: number): Held | undefined {
  const parsed = snapshot ?? snapshotSchema.safeParse(JSON.parse(body)).data;
  if (!parsed) return undefined;
  return { snapshot: parsed, body, etag, fetchedAt, until: checkAt(fetchedAt, ttl) };
}

async function revalidate(env: Env, ctx: WaitUntil, ahead: boolean): Promise<Held | undefined> {
  const { SNAPSHOT_TTL_MS: ttl, SNAPSHOT_COLO_CACHE } = gatewayConfig(env);
  // A TTL of 0 means "always ask the control plane": nothing to share.
  const shared = ttl > 0 && SNAPSHOT_COLO_CACHE === "on";
  let colo: ColoCopy | undefined;
  if (shared) {
    colo = await readColoCopy();
    const now = Date.now();
    // A fresher copy than this isolate's: adopt it. One no fresher (this isolate is the first of the
    // colo to reach its refresh point) or stale: refresh it, unless another isolate already is.
    if (colo && now - colo.fetchedAt < ttl && (!held || colo.fetchedAt > held.fetchedAt)) {
      const same = held?.etag !== undefined && held.etag === colo.etag;
      const adopted = same ? { ...held!, fetchedAt: colo.fetchedAt, until: checkAt(colo.fetchedAt, ttl) } : safeHold(colo, ttl);
      if (adopted) return (held = adopted);
    }
    // Another isolate is asking the control plane: serve this isolate's copy until its claim ends.
    const other = held ? await readClaim(now) : undefined;
    if (held && other) return (held = { ...held, until: other.until });
    const mine = { id: crypto.randomUUID(), until: now + Math.min(CLAIM_MS, ttl) };
    await writeClaim(mine);
    if (ahead && held) {
      // Nobody waits on a refresh ahead of time: let claims made meanwhile land; the last one asks.
      await new Promise((resolve) => setTimeout(resolve, CLAIM_SETTLE_MS));
      const owner = await readClaim(Date.now());
      if (owner && owner.id !== mine.id) return (held = { ...held, until: owner.until });
    }
  }
  const etag = held?.etag ?? colo?.etag;
  const headers: Record<string, string> = { authorization: `Bearer ${env.GATEWAY_TOKEN}` };
  if (etag) headers["if-none-match"] = etag;
  try {
    const res = await env.CONTROL_PLANE.fetch("https://control-plane/v1/snapshot", { headers });
    const now = Date.now();
    let next: Held | undefined;
    if (res.status === 304) {
      next = held && held.etag === etag ? { ...held, fetchedAt: now, until: checkAt(now, ttl) } : colo ? hold(colo.body, undefined, colo.etag, now, ttl) : undefined;
    }
    if (!next) {
      if (!res.ok) throw new Error(`control plane answered ${res.status}`);
      const body = await res.text();
      next = { snapshot: snapshotSchema.parse(JSON.parse(body)), body, etag: res.headers.get("etag") ?? undefined, fetchedAt: now, until: checkAt(now, ttl) };
      ctx.waitUntil(env.SNAPSHOT_CACHE.put(KV_KEY, body).catch(() => undefined));
    }
    held = next;
    if (shared) ctx.waitUntil(writeColoCopy({ body: next.body, etag: next.etag, fetchedAt: next.fetchedAt }));
    return held;
  } catch (err) {
    console.warn(`snapshot refresh failed: ${(err as Error).message}`);
    // Serve the held copy for another TTL before trying again, so an outage costs one call per TTL.
    if (held) held = { ...held, until: Date.now() + ttl };
    return undefined;
  }
}

function safeHold(colo: ColoCopy, ttl: number): Held | undefined {
  try {
    return hold(colo.body, undefined, colo.etag, colo.fetchedAt, ttl);
  } catch {
    return undefined; // an unreadable colo copy: the control plane answers instead
  }
}

/** Drops the isolate's copy (tests and benchmarks use it to simulate a cold isolate). */
export function forgetSnapshot(): void {
  held = undefined;
}
