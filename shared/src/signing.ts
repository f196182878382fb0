// Signed requests between Verge's parts: HMAC-SHA256 over method, path, timestamp and the body's
// sha256, rejected outside a short replay window (webhooks, the gateway's feature probe), and the
// stricter origin signature below (host and nonce signed too).
import { hex, sha256Hex } from "./crypto.ts";

export const SIGNATURE_HEADER = "x-verge-signature";
export const TIMESTAMP_HEADER = "x-verge-timestamp";
export const REPLAY_WINDOW_MS = 30_000;

const encoder = new TextEncoder();

async function key(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

async function canonical(method: string, path: string, timestamp: string, body: string | Uint8Array): Promise<Uint8Array> {
  return encoder.encode(`${method.toUpperCase()}\n${path}\n${timestamp}\n${await sha256Hex(body)}`);
}

/** The headers that sign one request. */
export async function signRequest(secret: string, method: string, path: string, body: string | Uint8Array, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = String(now);
  const mac = await crypto.subtle.sign("HMAC", await key(secret), (await canonical(method, path, timestamp, body)) as Uint8Array<ArrayBuffer>);
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: hex(new Uint8Array(mac)) };
}

export type Verification = { ok: true } | { ok: false; reason: string };

/** Checks a signature (in constant time, through WebCrypto's verify) and its freshness. */
export async function verifyRequest(
  secret: string,
  req: { method: string; path: string; timestamp: string | undefined; signature: string | undefined; body: string | Uint8Array },
  now = Date.now(),
  windowMs = REPLAY_WINDOW_MS,
): Promise<Verification> {
  if (!req.timestamp || !req.signature) return { ok: false, reason: "missing signature headers" };
  const ts = Number(req.timestamp);
  if (!Number.isFinite(ts) || Math.abs(now - ts) > windowMs) return { ok: false, reason: "timestamp outside the replay window" };
  if (!/^[0-9a-f]{64}$/.test(req.signature)) return { ok: false, reason: "malformed signature" };
  const mac = new Uint8Array(req.signature.match(/../g)!.map((h) => Number.parseInt(h, 16)));
  const ok = await crypto.subtle.verify("HMAC", await key(secret), mac, (await canonical(req.method, req.path, req.timestamp, req.body)) as Uint8Array<ArrayBuffer>);
  return ok ? { ok: true } : { ok: false, reason: "bad signature" };
}

// Gateway → origin requests are signed more tightly than webhooks: the host is signed, so a request
// addressed to one node cannot be replayed to another (each node remembers its own nonces), and a
// random nonce per request lets a node refuse a replay inside the window.

export const NONCE_HEADER = "x-verge-nonce";
/** Milliseconds the gateway waits for the answer, from when it sent the request: the origin drops it unrun past that. */
export const DEADLINE_HEADER = "x-verge-deadline-ms";

/** The text an origin signature covers; exported so a caller that must sign synchronously (a load generator) builds the same. */
export function originCanonical(r: { method: string; host: string; path: string; timestamp: string; nonce: string; bodySha256: string }): string {
  return `verge-origin-v2\n${r.method.toUpperCase()}\n${r.host.toLowerCase()}\n${r.path}\n${r.timestamp}\n${r.nonce}\n${r.bodySha256}`;
}

/** The headers that sign one gateway → origin request to `url` (its host and path are signed). */
export async function signOriginRequest(secret: string, method: string, url: string, body: string | Uint8Array, now = Date.now()): Promise<Record<string, string>> {
  const { host, pathname } = new URL(url);
  const timestamp = String(now);
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const text = originCanonical({ method, host, path: pathname, timestamp, nonce, bodySha256: await sha256Hex(body) });
  const mac = await crypto.subtle.sign("HMAC", await key(secret), encoder.encode(text));
  return { [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: hex(new Uint8Array(mac)) };
}

/**
 * Checks an origin signature and its freshness; the nonce is returned for the caller to remember
 * (only after the signature holds, so unsigned callers cannot fill the caller's nonce memory).
 */
export async function verifyOriginRequest(
  secret: string,
  req: { method: string; host: string | undefined; path: string; timestamp: string | undefined; nonce: string | undefined; signature: string | undefined; body: string | Uint8Array },
  now = Date.now(),
  windowMs = REPLAY_WINDOW_MS,
): Promise<Verification> {
  if (!req.timestamp || !req.signature || !req.nonce) return { ok: false, reason: `missing signature headers (${TIMESTAMP_HEADER}, ${NONCE_HEADER}, ${SIGNATURE_HEADER})` };
  if (!req.host) return { ok: false, reason: "missing host" };
  if (!/^\d{1,16}$/.test(req.timestamp)) return { ok: false, reason: "malformed timestamp" };
  if (Math.abs(now - Number(req.timestamp)) > windowMs) return { ok: false, reason: "timestamp outside the replay window" };
  if (!/^[0-9a-f]{32}$/.test(req.nonce)) return { ok: false, reason: "malformed nonce (32 hex digits)" };
  if (!/^[0-9a-f]{64}$/.test(req.signature)) return { ok: false, reason: "malformed signature" };
  const mac = new Uint8Array(req.signature.match(/../g)!.map((h) => Number.parseInt(h, 16)));
  const text = originCanonical({ method: req.method, host: req.host, path: req.path, timestamp: req.timestamp, nonce: req.nonce, bodySha256: await sha256Hex(req.body) });
  const ok = await crypto.subtle.verify("HMAC", await key(secret), mac, encoder.encode(text));
  return ok ? { ok: true } : { ok: false, reason: "bad signature" };
}
