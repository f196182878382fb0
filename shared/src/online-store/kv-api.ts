// Online store on Workers KV written from outside Cloudflare (the trainer on a GPU node), through
// Cloudflare's REST API with the official `cloudflare` package: bulk writes of up to 10,000 pairs,
// bulk reads of up to 100 keys. The gateway reads the same namespace through its binding.
import type Cloudflare from "cloudflare";
import { parseOnlineRow, type OnlineStore } from "./index.ts";

export interface KvApiOptions {
  accountId: string;
  apiToken: string;
  /** The namespace's id: the gateway's FEATURES binding in its wrangler.toml. */
  namespaceId: string;
  /** Only to point at another endpoint than Cloudflare's (the local stack serves one). */
  baseUrl?: string | undefined;
  /** Pairs per bulk write (the API allows 10,000). */
  pairsPerWrite?: number;
}

/** The API's own limits: 10,000 pairs and 100 MB per bulk write, 100 keys per bulk read. */
const WRITE_PAIRS = 10_000;
const WRITE_BYTES = 50 * 1024 * 1024;
const READ_KEYS = 100;

/**
 * @example
 * const store = kvApiStore({ accountId, apiToken, namespaceId: "…" });
 * await store.putMany([{ key: onlineKey("users", "42"), row: { ts: Date.now(), values: { age: 41 } } }]);
 */
export function kvApiStore(o: KvApiOptions): OnlineStore {
  // Loaded on first use: the package covers all of Cloudflare's API and takes a while to import.
  let client: Promise<Cloudflare> | undefined;
  const kv = async () => (await (client ??= import("cloudflare").then(({ default: C }) => new C({ apiToken: o.apiToken, ...(o.baseUrl ? { baseURL: o.baseUrl } : {}) })))).kv.namespaces;
  return {
    name: "kv",
    async getMany(keys) {
      const out: ReturnType<typeof parseOnlineRow>[] = [];
      for (let i = 0; i < keys.length; i += READ_KEYS) {
        const chunk = keys.slice(i, i + READ_KEYS);
        const res = await (await kv()).bulkGet(o.namespaceId, { account_id: o.accountId, keys: [...chunk], type: "text" });
        const values = (res as { values?: Record<string, unknown> } | null)?.values ?? {};
        for (const key of chunk) out.push(values[key] == null ? undefined : parseOnlineRow(values[key]));
      }
      return out;
    },
    async putMany(rows) {
      let batch: { key: string; value: string }[] = [];
      let bytes = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const res = await (await kv()).bulkUpdate(o.namespaceId, { account_id: o.accountId, body: batch });
        // The API reports keys it could not write rather than failing the call.
        const failed = res?.unsuccessful_keys ?? [];
        if (failed.length) throw new Error(`Workers KV refused ${failed.length} of ${batch.length} writes (first: ${failed[0]})`);
        batch = [];
        bytes = 0;
      };
      for (const { key, row } of rows) {
        const value = JSON.stringify(row);
        const size = key.length + value.length * 3; // an upper bound of its UTF-8 bytes
        if (batch.length === (o.pairsPerWrite ?? WRITE_PAIRS) || bytes + size > WRITE_BYTES) await flush();
        batch.push({ key, value });
        bytes += size;
      }
      await flush();
    },
  };
}
