// Settings that `wrangler types` cannot know about, because they are secrets or set per
// environment by `npm run setup` (see gateway/src/config.ts for what each means).
interface Env {
  /** Shared with the default origin pool's nodes (HMAC signatures); other pools name their own binding. */
  ORIGIN_SECRET?: string;
  /** The GPU origin, set per environment; unset, origin versions are unavailable. */
  ORIGIN_URL?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
}
