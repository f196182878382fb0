// Hashing and secrets on WebCrypto, present in workerd and Node alike (hash-wasm cannot load
// its wasm in workerd, which refuses to compile WebAssembly from bytes at run time).
const encoder = new TextEncoder();

export async function sha256Hex(data: string | ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return hex(new Uint8Array(digest));
}

/**
 * A client key's hash as the snapshot publishes it: HMAC-SHA256 keyed by the snapshot's salt over
 * the key's sha256 (what the control plane stores). A leaked snapshot then matches no table of
 * precomputed sha256 hashes, and its hashes mean nothing for any other deployment's salt.
 */
export async function saltedKeyHash(salt: string, keySha256: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", encoder.encode(salt), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(keySha256))));
}

export function randomToken(prefix: string, bytes = 24): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return `${prefix}_${hex(raw)}`;
}

export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
