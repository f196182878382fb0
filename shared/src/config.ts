// Settings parsed once through a schema, whichever runtime they come from (a worker's bindings,
// a Node process's environment), with one message that names every bad variable.
import { z } from "zod";
import { ApiError } from "./errors.ts";

/** A duration or count given as text (wrangler vars and environment variables are strings). */
export const numberFromText = (fallback: number, o: { min?: number; max?: number; int?: boolean } = {}) => {
  let n = z.coerce.number();
  if (o.int) n = n.int();
  if (o.min !== undefined) n = n.min(o.min);
  if (o.max !== undefined) n = n.max(o.max);
  return z.preprocess((v) => (v === undefined || v === "" ? fallback : v), n);
};

export function configIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join(".") || "(config)"}: ${i.message}`);
}

/**
 * A worker's settings from its `env`, parsed on first use and kept per `env` object (one per
 * isolate). A bad setting fails every request with a 503 that names it, never a wrong default.
 *
 * @example
 * const config = workerConfig(z.object({ TTL_MS: numberFromText(2000) }));
 * const ttl = config(env).TTL_MS;
 */
export function workerConfig<T extends z.ZodType>(schema: T) {
  const cache = new WeakMap<object, z.infer<T>>();
  return (env: object): z.infer<T> => {
    const held = cache.get(env);
    if (held) return held;
    const parsed = schema.safeParse(env);
    if (!parsed.success) throw new ApiError("unavailable", `configuration: ${configIssues(parsed.error).join("; ")}`);
    cache.set(env, parsed.data);
    return parsed.data;
  };
}
