// Per-key rate limits: a fixed one-minute window per key, counted per isolate.
//
// Why not the Workers rate-limiting binding: its limit is fixed in wrangler.toml per binding,
// while each client key carries its own limit in the registry. Counting per isolate makes the
// limit approximate across isolates and colos (a key spread over k isolates can reach k × limit);
// it protects each isolate and the origin behind it, which is what it is for.
const windows = new Map<string, { start: number; count: number }>();
const MAX_TRACKED = 10_000;

export function takeToken(keyId: string, perMinute: number, now = Date.now()): { ok: true } | { ok: false; retryAfterS: number } {
  const start = now - (now % 60_000);
  let w = windows.get(keyId);
  if (!w || w.start !== start) {
    if (windows.size >= MAX_TRACKED) windows.clear();
    w = { start, count: 0 };
    windows.set(keyId, w);
  }
  if (w.count >= perMinute) return { ok: false, retryAfterS: Math.ceil((start + 60_000 - now) / 1000) };
  w.count++;
  return { ok: true };
}
