// Origin pools: the gateway's named groups of Open Inference Protocol servers for `origin`
// versions (Verge trainers, or any OIP v2 server such as Triton or a KServe InferenceService).
// Configured once per gateway as JSON (`ORIGIN_POOLS`); secrets are never inline, a pool names
// the binding that holds its secret or token.
import { z } from "zod";
import { nameSchema } from "./common.ts";

/** The name of a gateway binding (a secret or var), e.g. `ORIGIN_SECRET_GPU`. */
const bindingNameSchema = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "must name a binding: upper-case letters, digits and '_'");

export const originAuthSchema = z.discriminatedUnion("kind", [
  /** Verge's HMAC signature (x-verge-timestamp, x-verge-signature) with a secret shared with the nodes. */
  z.strictObject({ kind: z.literal("hmac"), secret: bindingNameSchema.default("ORIGIN_SECRET") }),
  /** `Authorization: Bearer <token>`, e.g. for a KServe or Triton cluster behind its own gateway. */
  z.strictObject({ kind: z.literal("bearer"), token: bindingNameSchema }),
  /** Nothing: a server reachable only from a private network. */
  z.strictObject({ kind: z.literal("none") }),
]);
export type OriginAuth = z.infer<typeof originAuthSchema>;

export const originNodeSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  /** Relative share of the pool's traffic (a node with weight 2 takes about twice as much). */
  weight: z.number().int().min(1).max(100).default(1),
});

export const originPoolSchema = z.strictObject({
  /** The pool's nodes: a URL, or `{url, weight}`. */
  nodes: z
    .array(z.union([z.url({ protocol: /^https?$/ }).max(2048).transform((url) => ({ url, weight: 1 })), originNodeSchema]))
    .min(1)
    .max(64),
  auth: originAuthSchema.default({ kind: "hmac", secret: "ORIGIN_SECRET" }),
  /** A request's whole budget, retry included; the gateway's ORIGIN_DEADLINE_MS when absent. */
  deadline_ms: z.number().int().min(10).max(120_000).optional(),
  /** The model's name on the server, when it differs from Verge's (a KServe InferenceService's name). */
  model_names: z.record(nameSchema, z.string().min(1).max(256).regex(/^[^/?#\s]+$/, "must be one path segment")).default({}),
  /**
   * `verge`: `/v2/models/{name}/versions/{verge version}/infer` (Verge trainers, Triton with numbered
   * versions). `none`: `/v2/models/{name}/infer`, the server picks its version (KServe).
   */
  versions: z.enum(["verge", "none"]).default("verge"),
  /** Consecutive failures that open a node's circuit, and how long it stays open before a probe. */
  breaker: z.strictObject({ failures: z.number().int().min(1).max(100).default(5), cool_down_ms: z.number().int().min(100).max(600_000).optional() }).default({ failures: 5 }),
});
export type OriginPool = z.infer<typeof originPoolSchema>;

export const originPoolsSchema = z.record(nameSchema, originPoolSchema);
export type OriginPools = z.infer<typeof originPoolsSchema>;

/** The pool a version runs on when its metadata names none. */
export const DEFAULT_POOL = "default";

/** The gateway settings pools are built from (wrangler vars and secrets). */
export interface OriginSettings {
  ORIGIN_POOLS?: string | undefined;
  ORIGIN_URL?: string | undefined;
}

/**
 * Parses `ORIGIN_POOLS` (JSON) and adds the `default` pool from `ORIGIN_URL` (signed with
 * `ORIGIN_SECRET`) unless the JSON defines one. A bad setting fails with a message naming it.
 *
 * @example
 * originPoolsFrom({ ORIGIN_URL: "http://gpu-1:8789", ORIGIN_POOLS: '{"triton":{"nodes":["http://triton:8000"],"auth":{"kind":"none"}}}' })
 */
export function originPoolsFrom(settings: OriginSettings): { ok: true; pools: OriginPools } | { ok: false; message: string } {
  let raw: unknown = {};
  if (settings.ORIGIN_POOLS?.trim()) {
    try {
      raw = JSON.parse(settings.ORIGIN_POOLS);
    } catch {
      return { ok: false, message: "ORIGIN_POOLS: must be a JSON object of pools" };
    }
  }
  const parsed = originPoolsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, message: `ORIGIN_POOLS.${issue.path.join(".")}: ${issue.message}` };
  }
  const pools = parsed.data;
  if (!pools[DEFAULT_POOL] && settings.ORIGIN_URL?.trim()) {
    const fromUrl = originPoolSchema.safeParse({ nodes: settings.ORIGIN_URL.split(",").map((u) => u.trim()).filter(Boolean) });
    if (!fromUrl.success) return { ok: false, message: `ORIGIN_URL: ${fromUrl.error.issues[0]!.message}` };
    pools[DEFAULT_POOL] = fromUrl.data;
  }
  return { ok: true, pools };
}
