// Per-key rate limits: a fixed one-minute window per key, counted per isolate (the default) or
// globally (RATE_LIMIT_MODE=global, a Durable Object per key: see global-limiter.ts).
//
// Why not the Workers rate-limiting binding: its limit is fixed in wrangler.toml per binding,
// while each client key carries its own limit in the registry. Counting per isolate makes the
// limit approximate across isolates and colos (a key spread over k isolates can reach k × limit);
// it protects each isolate and the origin behind it, costs nothing, and adds no latency.
import { windowVerdict, type Verdict, type Window } from "./window.ts";

const windows = new Map<string, Window>();
const MAX_TRACKED = 10_000;

export function takeToken(keyId: string, perMinute: number, now = Date.now()): Verdict {
  const { verdict, window } = windowVerdict(windows.get(keyId), perMinute, now);
  if (!windows.has(keyId) && windows.size >= MAX_TRACKED) windows.clear();
  windows.set(keyId, window);
  return verdict;
}
