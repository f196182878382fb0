// The colo's copy of the routing snapshot, in the Cache API (`caches.default`), which every isolate
// of a data center shares. Isolates revalidate against it first, so the control plane sees about one
// call per colo and TTL instead of one per isolate and TTL: its load follows the number of colos, not
// of isolates.
//
// Freshness is carried with the copy (`fetchedAt`: when the control plane last vouched for it), never
// renewed by copying, so a copy read from the colo is trusted only for what is left of its TTL: a
// change is served everywhere at most one TTL (plus one claim, below) after it was made, as before.
//
// When the colo's copy goes stale, the first isolate to notice puts a short claim next to it and asks
// the control plane; isolates that see the claim keep serving their own copy until it ends instead of
// asking too. The Cache API has no compare-and-set: an isolate refreshing ahead of the TTL's end
// (in the background) lets concurrent claims land, reads the claim back and goes on only if it is
// still its own, so isolates that claimed within one cache round trip of each other make one call;
// at the TTL's end itself (a request waits) it claims and asks at once. A lost race costs an extra
// call, never correctness.
//
// Where the Cache API stores nothing (a workers.dev route, or `caches` missing), reads miss and every
// isolate asks the control plane itself: correct, only not flat.

const ENTRY_URL = "https://snapshot.verge.internal/v1/snapshot";
const CLAIM_URL = "https://snapshot.verge.internal/v1/snapshot/claim";
/** How long the Cache API keeps entries: far past any TTL, so a stale copy can still serve in an outage. */
const CACHE_SECONDS = 300;

export interface ColoCopy {
  /** The snapshot's JSON as the control plane sent it. */
  body: string;
  etag: string | undefined;
  /** When the control plane last answered for this copy (200 or 304), ms since the epoch. */
  fetchedAt: number;
}

function cache(): Cache | undefined {
  return typeof caches === "undefined" ? undefined : caches.default;
}

/** The colo's copy, or undefined when there is none (or the Cache API fails: then the control plane answers). */
export async function readColoCopy(): Promise<ColoCopy | undefined> {
  try {
    const res = await cache()?.match(ENTRY_URL);
    if (!res) return undefined;
    const fetchedAt = Number(res.headers.get("x-verge-fetched-at"));
    if (!Number.isFinite(fetchedAt)) return undefined;
    return { body: await res.text(), etag: res.headers.get("etag") ?? undefined, fetchedAt };
  } catch {
    return undefined;
  }
}

export async function writeColoCopy(copy: ColoCopy): Promise<void> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "cache-control": `max-age=${CACHE_SECONDS}`,
    "x-verge-fetched-at": String(copy.fetchedAt),
  };
  if (copy.etag) headers.etag = copy.etag;
  await cache()?.put(ENTRY_URL, new Response(copy.body, { headers })).catch(() => undefined);
}

export interface Claim {
  /** The claiming isolate's random id. */
  id: string;
  /** When the claim ends, ms since the epoch. */
  until: number;
}

/** The claim on revalidating that is still running, if any. */
export async function readClaim(now: number): Promise<Claim | undefined> {
  try {
    const res = await cache()?.match(CLAIM_URL);
    if (!res) return undefined;
    const claim = (await res.json()) as Partial<Claim>;
    return typeof claim.id === "string" && typeof claim.until === "number" && claim.until > now ? { id: claim.id, until: claim.until } : undefined;
  } catch {
    return undefined;
  }
}

/** Claims the revalidation (the last writer wins: the Cache API has no compare-and-set). */
export async function writeClaim(claim: Claim): Promise<void> {
  await cache()?.put(CLAIM_URL, Response.json(claim, { headers: { "cache-control": `max-age=${CACHE_SECONDS}` } })).catch(() => undefined);
}
