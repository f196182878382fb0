// Settings that `wrangler types` cannot know about, because they are secrets or set per
// environment by `npm run setup` (see gateway/src/config.ts for what each means).
interface Env {
  /** Shared with the origin; origin versions are unavailable without it. */
  ORIGIN_SECRET?: string;
  /** The GPU origin, set per environment; unset, origin versions are unavailable. */
  ORIGIN_URL?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
}
