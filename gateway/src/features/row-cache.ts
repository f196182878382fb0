// Rows of views with `cache_s`, kept per isolate so that hot entities are not read from the online
// store on every request. Bounded by entries (least recently read evicted first); a row found
// missing is kept too, so an unknown entity does not cost a round trip per request. Failed reads
// are never kept.
import type { OnlineRow } from "@verge/shared";

interface Entry {
  row: OnlineRow | undefined;
  until: number;
}

export interface RowCache {
  /** The row if it is kept and still fresh; `hit: false` otherwise. */
  get(key: string, now: number): { hit: true; row: OnlineRow | undefined } | { hit: false };
  set(key: string, row: OnlineRow | undefined, ttlMs: number, now: number): void;
  readonly size: number;
}

/**
 * Each row is kept for between 80% and 100% of its view's `cache_s` (drawn per row), so rows read
 * in the same burst do not all expire at once and send their reads to the store together.
 */
export function rowCache(maxEntries: number, random: () => number = Math.random): RowCache {
  const entries = new Map<string, Entry>();
  return {
    get(key, now) {
      const e = entries.get(key);
      if (!e) return { hit: false };
      entries.delete(key);
      if (e.until <= now) return { hit: false };
      entries.set(key, e); // most recently read last
      return { hit: true, row: e.row };
    },
    set(key, row, ttlMs, now) {
      entries.delete(key);
      entries.set(key, { row, until: now + ttlMs * (0.8 + 0.2 * random()) });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    get size() {
      return entries.size;
    },
  };
}
