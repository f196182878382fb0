// Online features for a request: every view row of every instance in one store round trip,
// bounded by a deadline. Stale, missing or unreadable values fall back to defaults, with the reason.
import { emptyRecord, onlineKey, ownValue, typeMatches, type Degraded, type FeatureSpec, type FeatureValue, type OnlineRow, type OnlineStore } from "@verge/shared";

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
  const keys = [...new Set(keyOf.flatMap((m) => [...m.values()]).filter((k): k is string => k !== undefined))];
  const outcome = store ? await readWithDeadline(store, keys, deadlineMs) : ({ failed: "store_unavailable" } as const);
  const byKey = "rows" in outcome ? new Map(keys.map((k, i) => [k, outcome.rows[i]])) : undefined;

  rows.forEach((_, i) => {
    for (const f of online) {
      if (raw[i]![f.name] !== undefined && raw[i]![f.name] !== null) continue; // the request's value wins
      const view = views.get(f.view!)!;
      const key = keyOf[i]!.get(view.name);
      const row = key === undefined ? undefined : byKey?.get(key);
      let reason: Degraded["reason"] | undefined;
      const stored = ownValue(row?.values, f.name);
      if (!("rows" in outcome)) reason = outcome.failed;
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
  if (keys.length === 0) return { rows: [] };
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
