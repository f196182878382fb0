// The accurate rate limit: one Durable Object per client key counts that key's requests in a fixed
// one-minute window, whichever isolate or colo they reach. A Durable Object runs one call at a
// time, so concurrent takes serialize and the window never admits more than the limit.
import { DurableObject } from "cloudflare:workers";
import { windowVerdict, type Verdict } from "./window.ts";

export class RateLimiter extends DurableObject<Env> {
  /**
   * Counts one request against `perMinute` in the window holding `now`. The window is kept in
   * the object's storage (synchronous SQLite KV), so it survives the object leaving memory.
   */
  take(perMinute: number, now = Date.now()): Verdict {
    const kv = this.ctx.storage.kv;
    const held = kv.get<{ start: number; count: number }>("window");
    const { verdict, window } = windowVerdict(held, perMinute, now);
    if (verdict.ok) kv.put("window", window);
    return verdict;
  }
}

/** Takes a token for `keyId` from its limiter object. */
export async function takeGlobalToken(ns: DurableObjectNamespace<RateLimiter>, keyId: string, perMinute: number): Promise<Verdict> {
  return ns.get(ns.idFromName(keyId)).take(perMinute);
}
