// Loaded models held per isolate, least recently used first out, within a memory budget.
//
// An isolate has 128 MB. Each session holds about its artifact's size in the WebAssembly heap, so
// a few calls to several 20–32 MiB versions would pass the limit if sessions were kept forever.
// Sizes are the artifact bytes the snapshot declares (known before loading). A session in use by
// a running inference is never released under it; it is released when its last user finishes.

export interface SessionCacheOptions<T> {
  /** Most artifact bytes held at once; one larger artifact is still loaded, alone. */
  budgetBytes: number;
  /** Frees what a session holds (ORT's `release`); called once, when no run uses it. */
  release?: (value: T) => unknown;
  /** Told of each eviction for room (operators read these lines to size the budget). */
  onEvict?: (key: string, bytes: number, heldAfter: number) => void;
}

interface Entry<T> {
  value: Promise<T>;
  bytes: number;
  users: number;
  evicted: boolean;
}

export interface SessionCache<T> {
  /**
   * Runs `use` with the session for `key`, loading it (once, however many callers wait) if absent.
   * A failed load is not kept: the next call tries again.
   */
  with<R>(key: string, bytes: number, load: () => Promise<T>, use: (value: T) => Promise<R>): Promise<R>;
  /** Keys held, least recently used first. */
  keys(): string[];
  /** Artifact bytes held. */
  bytes(): number;
}

/**
 * @example
 * const sessions = sessionCache<Session>({ budgetBytes: 48 << 20, release: (s) => s.release() });
 * await sessions.with(v.sha256, v.size, () => load(v), (s) => s.run(feeds));
 */
export function sessionCache<T>(options: SessionCacheOptions<T>): SessionCache<T> {
  // A Map iterates in insertion order: deleting and re-inserting on use keeps it in LRU order.
  const entries = new Map<string, Entry<T>>();
  let held = 0;

  const drop = (key: string, entry: Entry<T>) => {
    if (entries.get(key) === entry) entries.delete(key);
    if (!entry.evicted) held -= entry.bytes;
    entry.evicted = true;
    if (entry.users === 0) void entry.value.then((v) => options.release?.(v), () => undefined);
  };

  const makeRoom = (incoming: number) => {
    for (const [key, entry] of entries) {
      if (held + incoming <= options.budgetBytes) break;
      drop(key, entry);
      options.onEvict?.(key, entry.bytes, held);
    }
  };

  return {
    async with(key, bytes, load, use) {
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
        entries.set(key, entry);
      } else {
        makeRoom(bytes);
        entry = { value: load(), bytes, users: 0, evicted: false };
        const mine = entry;
        entries.set(key, mine);
        held += bytes;
        mine.value.catch(() => {
          if (!mine.evicted) drop(key, mine);
        });
      }
      entry.users++;
      try {
        return await use(await entry.value);
      } finally {
        entry.users--;
        if (entry.evicted && entry.users === 0) void entry.value.then((v) => options.release?.(v), () => undefined);
      }
    },
    keys: () => [...entries.keys()],
    bytes: () => held,
  };
}
