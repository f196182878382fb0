// Online features for a request: every view row of every instance in one store round trip,
// bounded by a deadline, except rows of views with `cache_s` this isolate read recently. Stale, missing or unreadable values fall back to defaults, with the reason.
import { emptyRecord, onlineKey, ownValue, typeMatches, type Degraded, type FeatureSpec, type FeatureValue, type OnlineRow, type OnlineStore } from "@verge/shared";
import type { RowCache } from "./row-cache.ts";

export interface LookupRow {
  features?: Record<string, FeatureValue> | undefined;
  entities?: Record<string, string> | undefined;
}

export interface Lookup {
  /** Per row: request values merged over store values. */
  raw: Record<string, FeatureValue>[];
  /** Per row: why a view feature has no value. */
  reasons: Map<string, Degraded["reason"]>[];
}

type Outcome = { rows: (OnlineRow | undefined)[] } | { failed: "store_unavailable" | "deadline" };

export async function lookupFeatures(
  store: OnlineStore | undefined,
  spec: FeatureSpec,
  rows: readonly LookupRow[],
  shared: Record<string, string> | undefined,
  deadlineMs: number,
  now = Date.now(),
  cache?: RowCache,
): Promise<Lookup> {
  const online = spec.features.filter((f) => f.view !== undefined);
  const raw = rows.map((r) => Object.assign(emptyRecord<FeatureValue>(), r.features));
  const reasons = rows.map(() => new Map<string, Degraded["reason"]>());
  if (online.length === 0) return { raw, reasons };

  // Which key each (row, view) reads; undefined when the request names no entity for it.
  const views = new Map(spec.views.map((v) => [v.name, v]));
  const keyOf = rows.map((r) =>
    new Map(spec.views.map((v) => {
      const entity = ownValue(r.entities, v.entity) ?? ownValue(shared, v.entity);
      return [v.name, entity === undefined ? undefined : onlineKey(v.name, entity)] as const;
    })),
  );
  // Rows of cached views still fresh in this isolate are not read again.
  const cacheMs = new Map<string, number>();
  const byKey = new Map<string, OnlineRow | undefined>();
  for (const m of keyOf) {
    for (const [view, key] of m) {
      if (key === undefined || cacheMs.has(key)) continue;
      const ttl = (views.get(view)!.cache_s ?? 0) * 1000;
      cacheMs.set(key, ttl);
      if (!cache || !ttl) continue;
      const kept = cache.get(key, now);
      if (kept.hit) byKey.set(key, kept.row);
    }
  }
  const keys = [...cacheMs.keys()].filter((k) => !byKey.has(k));
  const outcome: Outcome = !store ? { failed: "store_unavailable" } : keys.length === 0 ? { rows: [] } : await readWithDeadline(store, keys, deadlineMs);
  if ("rows" in outcome) {
    keys.forEach((k, i) => {
      byKey.set(k, outcome.rows[i]);
      const ttl = cacheMs.get(k)!;
      if (cache && ttl) cache.set(k, outcome.rows[i], ttl, now);
    });
  }

  rows.forEach((_, i) => {
    for (const f of online) {
      if (raw[i]![f.name] !== undefined && raw[i]![f.name] !== null) continue; // the request's value wins
      const view = views.get(f.view!)!;
      const key = keyOf[i]!.get(view.name);
      const row = key === undefined ? undefined : byKey.get(key);
      let reason: Degraded["reason"] | undefined;
      const stored = ownValue(row?.values, f.name);
      if (!("rows" in outcome) && (key === undefined || !byKey.has(key))) reason = outcome.failed;
      else if (!row || stored === undefined || stored === null) reason = "missing";
      else if (view.max_age_s !== undefined && now - row.ts > view.max_age_s * 1000) reason = "stale";
      else if (!typeMatches(f, stored)) reason = "invalid";
      if (reason) reasons[i]!.set(f.name, reason);
      else raw[i]![f.name] = stored!;
    }
  });
  return { raw, reasons };
}

async function readWithDeadline(store: OnlineStore, keys: string[], deadlineMs: number): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ failed: "deadline" }), deadlineMs);
  });
  const read = store.getMany(keys).then(
    (rows): Outcome => ({ rows }),
    (err: unknown): Outcome => {
      console.warn(`online store ${store.name} failed: ${(err as Error).message}`);
      return { failed: "store_unavailable" };
    },
  );
  try {
    return await Promise.race([read, deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
