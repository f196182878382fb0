// Picks the isolate's online store from the configuration: Upstash Redis or Workers KV.
import type { OnlineStore } from "@verge/shared";
import { kvStore } from "@verge/shared/online-store/kv";
import { upstashStore } from "@verge/shared/online-store/upstash";
import { gatewayConfig } from "../config.ts";

let cached: { env: Env; store: OnlineStore | undefined } | undefined;

export function onlineStore(env: Env): OnlineStore | undefined {
  if (cached?.env === env) return cached.store;
  const config = gatewayConfig(env);
  const store =
    config.ONLINE_STORE === "upstash"
      ? upstashStore({ url: config.UPSTASH_REDIS_REST_URL!, token: config.UPSTASH_REDIS_REST_TOKEN!, retries: 0 })
      : env.FEATURES
        ? kvStore(env.FEATURES)
        : undefined;
  cached = { env, store };
  return store;
}
