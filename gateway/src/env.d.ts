// Optional settings that `wrangler types` cannot know about: set them to use Upstash Redis as
// the online store (`wrangler secret put UPSTASH_REDIS_REST_URL` / `…_TOKEN`); without them the
// gateway reads features from the FEATURES KV namespace.
interface Env {
  /** Shared with the default origin pool's nodes (HMAC signatures); other pools name their own binding. */
  ORIGIN_SECRET?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
}
