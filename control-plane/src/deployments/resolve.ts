// Resolves a deployment's variants and shadows (by version or by alias) to version numbers.
import { and, eq, inArray } from "drizzle-orm";
import { ApiError, type PutDeployment } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { aliases, versions } from "../db/schema.ts";

export interface ResolvedTargets {
  variants: { name: string; version: number }[];
  shadows: { version: number; rate_bp: number }[];
  runtimes: Map<number, "edge" | "origin">;
}

export async function resolveTargets(d: Db, modelId: number, spec: Pick<PutDeployment, "variants" | "shadows">): Promise<ResolvedTargets> {
  const aliasRows = await d.select().from(aliases).where(eq(aliases.modelId, modelId)).all();
  const byAlias = new Map(aliasRows.map((a) => [a.alias, a.version]));
  const resolve = (t: { version?: number | undefined; alias?: string | undefined }, path: string): number => {
    if (t.version !== undefined) return t.version;
    const v = byAlias.get(t.alias!);
    if (v === undefined) throw new ApiError("bad_request", `${path}.alias: alias "${t.alias}" is not set`);
    return v;
  };
  const variants = spec.variants.map((v, i) => ({ name: v.name, version: resolve(v, `variants[${i}]`) }));
  const shadows = spec.shadows.map((s, i) => ({ version: resolve(s, `shadows[${i}]`), rate_bp: s.rate }));
  const wanted = [...new Set([...variants, ...shadows].map((t) => t.version))];
  const found = await d
    .select({ version: versions.version, runtime: versions.runtime })
    .from(versions)
    .where(and(eq(versions.modelId, modelId), inArray(versions.version, wanted)))
    .all();
  const have = new Set(found.map((f) => f.version));
  const missing = wanted.find((v) => !have.has(v));
  if (missing !== undefined) throw new ApiError("bad_request", `variants: version ${missing} does not exist`);
  return { variants, shadows, runtimes: new Map(found.map((f) => [f.version, f.runtime])) };
}
