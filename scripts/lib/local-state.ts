// Local state folders made before the stack took its resource ids from the wrangler.toml files: then
// a D1 database was keyed by its name (`verge`) and a KV namespace by `verge-<binding>` (e.g.
// `verge-snapshot-cache`); now by `database_id` and `id`. Miniflare names each resource's files
// after its id, so such a folder would otherwise start empty beside its old data. Before the
// stack starts, the old files take the new names (once; nothing is copied or overwritten).
import { existsSync, renameSync } from "node:fs";
import { createHash, createHmac } from "node:crypto";
import { join } from "node:path";
import type { WorkerConfig } from "./wrangler-config.ts";

/**
 * The file name miniflare gives the object a name maps to in one of its namespaces: workerd's
 * `idFromName`, an HMAC-SHA256 of the name under the SHA-256 of the namespace's unique key,
 * followed by an HMAC of that half.
 */
export function objectFileId(uniqueKey: string, name: string): string {
  const key = createHash("sha256").update(uniqueKey).digest();
  const base = createHmac("sha256", key).update(name).digest().subarray(0, 16);
  const mac = createHmac("sha256", key).update(base).digest().subarray(0, 16);
  return Buffer.concat([base, mac]).toString("hex");
}

interface Move {
  /** Folder of the namespace's object files, under the state folder. */
  dir: string;
  uniqueKey: string;
  from: string;
  to: string;
  /** KV keeps values as blobs in a folder named after the namespace. */
  blobs?: string;
}

/** What would move for these workers: resources whose id is not what the old stack used. */
export function legacyMoves(configs: WorkerConfig[]): Move[] {
  const moves: Move[] = [];
  for (const c of configs) {
    for (const d of c.d1_databases ?? []) {
      const to = d.database_id ?? d.database_name;
      if (to !== d.database_name) moves.push({ dir: "d1/miniflare-D1DatabaseObject", uniqueKey: "miniflare-D1DatabaseObject", from: d.database_name, to });
    }
    for (const k of c.kv_namespaces ?? []) {
      const from = `verge-${k.binding.toLowerCase().replaceAll("_", "-")}`;
      const to = k.id ?? k.binding;
      if (to !== from) moves.push({ dir: "kv/miniflare-KVNamespaceObject", uniqueKey: "miniflare-KVNamespaceObject", from, to, blobs: "kv" });
    }
  }
  return moves;
}

/** Gives a state folder's old-named resources their current names; returns what it moved. */
export function upgradeLocalState(state: string, configs: WorkerConfig[]): string[] {
  const moved: string[] = [];
  for (const m of legacyMoves(configs)) {
    const from = join(state, m.dir, `${objectFileId(m.uniqueKey, m.from)}.sqlite`);
    const to = join(state, m.dir, `${objectFileId(m.uniqueKey, m.to)}.sqlite`);
    if (!existsSync(from) || existsSync(to)) continue;
    for (const suffix of ["", "-wal", "-shm"]) if (existsSync(from + suffix)) renameSync(from + suffix, to + suffix);
    if (m.blobs && existsSync(join(state, m.blobs, m.from)) && !existsSync(join(state, m.blobs, m.to))) renameSync(join(state, m.blobs, m.from), join(state, m.blobs, m.to));
    moved.push(`${m.from} → ${m.to}`);
  }
  return moved;
}
