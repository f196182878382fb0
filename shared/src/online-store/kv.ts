// Online store on Workers KV: the zero-setup default. Reads are one bulk get per request.
import { parseOnlineRow, type OnlineStore } from "./index.ts";

/** KV bulk reads take at most 100 keys. */
const BULK = 100;

/** The part of a Workers KV namespace binding the driver uses. */
export interface KvNamespaceLike {
  get(keys: string[], type: "text"): Promise<Map<string, string | null>>;
  put(key: string, value: string): Promise<unknown>;
}

export function kvStore(kv: KvNamespaceLike): OnlineStore {
  return {
    name: "kv",
    async getMany(keys) {
      const out: (ReturnType<typeof parseOnlineRow>)[] = [];
      for (let i = 0; i < keys.length; i += BULK) {
        const chunk = keys.slice(i, i + BULK);
        const found = await kv.get(chunk, "text");
        for (const k of chunk) {
          const v = found.get(k);
          out.push(v == null ? undefined : parseOnlineRow(v));
        }
      }
      return out;
    },
    async putMany(rows) {
      await Promise.all(rows.map(({ key, row }) => kv.put(key, JSON.stringify(row))));
    },
  };
}
