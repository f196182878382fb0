// The trainer's online store, from its configuration, and the start-up check that a gateway reads
// what the trainer writes (same kind of store, same namespace or database). Without it a trainer
// can materialize features for hours into a store no gateway ever looks at.
import { randomBytes } from "node:crypto";
import { signRequest, type OnlineStore } from "@verge/shared";
import { kvApiStore } from "@verge/shared/online-store/kv-api";
import { upstashStore } from "@verge/shared/online-store/upstash";
import type { Config } from "../config.ts";

/** The same path as the gateway's probe route (gateway/src/features/probe.ts). */
const PROBE_PATH = "/internal/online-store/probe";

export function onlineStoreFromConfig(config: Config): OnlineStore | undefined {
  if (config.VERGE_ONLINE_STORE === "upstash") return upstashStore({ url: config.UPSTASH_REDIS_REST_URL!, token: config.UPSTASH_REDIS_REST_TOKEN! });
  if (config.VERGE_ONLINE_STORE === "kv") {
    return kvApiStore({ accountId: config.CLOUDFLARE_ACCOUNT_ID!, apiToken: config.CLOUDFLARE_API_TOKEN!, namespaceId: config.VERGE_KV_NAMESPACE_ID!, baseUrl: config.CLOUDFLARE_BASE_URL });
  }
  return undefined;
}

export class StoreMismatch extends Error {}

/**
 * Writes a probe row and asks the gateway (signed with the origin secret) what it reads under
 * that key. Resolves once it reads the same row; throws `StoreMismatch` when the gateway reads
 * another kind of store, or never sees the row within `timeoutMs` (another namespace or database).
 */
export async function checkOnlineStore(
  store: OnlineStore,
  o: { gatewayUrl: string; originSecret: string; timeoutMs: number; fetcher?: typeof fetch },
): Promise<void> {
  const fetcher = o.fetcher ?? fetch;
  const key = `probe:${randomBytes(12).toString("base64url")}`;
  await store.putMany([{ key, row: { ts: Date.now(), values: { probe: key } } }]);
  const url = `${o.gatewayUrl.replace(/\/$/, "")}${PROBE_PATH}`;
  const deadline = Date.now() + o.timeoutMs;
  let last = "no answer yet";
  for (;;) {
    const body = JSON.stringify({ key });
    try {
      const res = await fetcher(url, { method: "POST", headers: { "content-type": "application/json", ...(await signRequest(o.originSecret, "POST", PROBE_PATH, body)) }, body });
      const answer = (await res.json().catch(() => ({}))) as { store?: string; row?: { values?: Record<string, unknown> } | null; error?: { message?: string } };
      if (res.status === 401 || res.status === 403) throw new StoreMismatch(`the gateway at ${o.gatewayUrl} refused the probe: ${answer.error?.message ?? res.status}`);
      if (res.ok) {
        if (answer.store !== store.name) {
          throw new StoreMismatch(`the gateway at ${o.gatewayUrl} reads online features from ${answer.store} but this trainer writes to ${store.name}: configure one store for both (the gateway's ONLINE_STORE, the trainer's VERGE_ONLINE_STORE)`);
        }
        if (answer.row?.values?.probe === key) return;
        last = `it reads ${store.name}, but not the row written`;
      } else last = `${res.status} ${answer.error?.message ?? ""}`.trim();
    } catch (err) {
      if (err instanceof StoreMismatch) throw err;
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new StoreMismatch(
        `the gateway at ${o.gatewayUrl} does not read what this trainer writes (${last}): it must use the same ${store.name === "kv" ? "KV namespace (VERGE_KV_NAMESPACE_ID = the gateway's FEATURES id)" : "Redis database (the same UPSTASH_REDIS_REST_URL)"}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
