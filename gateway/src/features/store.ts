// Picks the isolate's online store: Upstash Redis when configured, else Workers KV.
import type { OnlineStore } from "@verge/shared";
import { kvStore } from "@verge/shared/online-store/kv";
import { upstashStore } from "@verge/shared/online-store/upstash";

let cached: { env: Env; store: OnlineStore | undefined } | undefined;

export function onlineStore(env: Env): OnlineStore | undefined {
  if (cached?.env === env) return cached.store;
  const store =
    env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN
      ? upstashStore({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, retries: 0 })
      : env.FEATURES
        ? kvStore(env.FEATURES)
        : undefined;
  cached = { env, store };
  return store;
}
