// Online store on Upstash Redis (REST, through @upstash/redis): one MGET per request.
import { Redis } from "@upstash/redis/cloudflare";
import { parseOnlineRow, type OnlineStore } from "./index.ts";

export interface UpstashOptions {
  url: string;
  token: string;
  /** Retries on network errors only; keep it small on the predict path. */
  retries?: number;
}

/**
 * @example
 * const store = upstashStore({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
 */
export function upstashStore(options: UpstashOptions): OnlineStore {
  let client: Redis | undefined;
  const redis = () =>
    (client ??= new Redis({
      url: options.url,
      token: options.token,
      automaticDeserialization: false,
      enableAutoPipelining: false,
      retry: { retries: options.retries ?? 1, backoff: () => 20 },
    }));
  return {
    name: "upstash",
    async getMany(keys) {
      if (keys.length === 0) return [];
      const values = await redis().mget<(string | null)[]>(...keys);
      return values.map((v) => (v === null ? undefined : parseOnlineRow(v)));
    },
    async putMany(rows) {
      if (rows.length === 0) return;
      const p = redis().pipeline();
      for (const { key, row } of rows) p.set(key, JSON.stringify(row));
      await p.exec();
    },
  };
}
