// The nonces of signed origin requests, remembered for as long as their signature could still be
// replayed (until their timestamp leaves the replay window), so a replay inside the window is
// refused. Memory is bounded by a capacity; only requests whose signature held are remembered,
// so unsigned callers cannot fill it.
import { REPLAY_WINDOW_MS } from "@verge/shared";

export type NonceMemory = ReturnType<typeof nonceMemory>;

export type Remembered = "fresh" | "replayed" | "full";

/**
 * @example
 * const nonces = nonceMemory(100_000);
 * if (nonces.remember(nonce, Number(timestamp)) === "replayed") throw new ApiError("unauthorized", "replayed");
 */
export function nonceMemory(capacity: number, windowMs = REPLAY_WINDOW_MS) {
  // nonce → when it may be forgotten (its timestamp plus the window). Insertion order is arrival
  // order and every entry expires at most two windows after it arrived (its timestamp was within a
  // window of arrival), so the expired ones are found among the oldest.
  const seen = new Map<string, number>();

  function prune(now: number): void {
    for (const [nonce, expires] of seen) {
      if (expires > now) break;
      seen.delete(nonce);
    }
  }

  return {
    /** Records a nonce from a request signed at `timestamp`. */
    remember(nonce: string, timestamp: number, now = Date.now()): Remembered {
      const known = seen.get(nonce);
      if (known !== undefined && known > now) return "replayed";
      prune(now);
      if (seen.size >= capacity) return "full";
      seen.set(nonce, timestamp + windowMs);
      return "fresh";
    },
    size: () => seen.size,
  };
}
