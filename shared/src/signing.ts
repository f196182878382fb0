// Signed gateway → origin requests: HMAC-SHA256 over method, path, timestamp and the body's
// sha256, rejected outside a short replay window.
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
