// Builds the routing snapshot that gateways serve from.
import { eq, isNull, sql } from "drizzle-orm";
import { saltedKeyHash, type Allocation, type PutDeployment, type Redaction, type Snapshot, type SnapshotModel, type VersionMetadata } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { aliases, apiKeys, counters, deployments, logSettings, models, settings, versions } from "../db/schema.ts";

const KEY_SALT = "client_key_salt";

export async function buildSnapshot(d: Db): Promise<Snapshot> {
  // One batch is one transaction: every table is read at the same point in time.
  const [, saltRows, counterRows, modelRows, versionRows, aliasRows, deploymentRows, keyRows, settingRows] = await d.batch([
    // The key salt is made once per deployment (128 random bits) and read in the same transaction.
    d.insert(settings).values({ name: KEY_SALT, value: sql`lower(hex(randomblob(16)))` }).onConflictDoNothing(),
    d.select().from(settings).where(eq(settings.name, KEY_SALT)),
    d.select().from(counters).where(eq(counters.name, "snapshot")),
    d.select().from(models),
    d.select().from(versions),
    d.select().from(aliases),
    d.select().from(deployments),
    d.select().from(apiKeys).where(isNull(apiKeys.revokedAt)),
    d.select().from(logSettings),
  ]);
  const keySalt = saltRows[0]!.value;
  const out: Snapshot = {
    version: counterRows[0]?.value ?? 0,
    generated_at: new Date().toISOString(),
    key_salt: keySalt,
    // Salted: a leaked snapshot gives no key's bare sha256 (see saltedKeyHash).
    keys: await Promise.all(
      keyRows.map(async (k) => ({ id: k.id, hash: await saltedKeyHash(keySalt, k.hash), models: k.models as string[], ...(k.rateLimit ? { rate_limit: k.rateLimit } : {}) })),
    ),
    models: {},
  };
  for (const m of modelRows) {
    const entry: SnapshotModel = { name: m.name, task: m.task, deployment: null, versions: {} };
    // Gateways redact log records before they leave: the model's list travels with the snapshot.
    const settings = settingRows.find((s) => s.modelId === m.id);
    if (settings && (settings.redact as Redaction[]).length) entry.logging = { redact: settings.redact as Redaction[], salt: settings.salt };
    for (const v of versionRows) {
      if (v.modelId !== m.id) continue;
      const meta = v.metadata as VersionMetadata;
      entry.versions[String(v.version)] = {
        version: v.version,
        runtime: v.runtime,
        sha256: v.sha256,
        size: v.size,
        artifact_key: v.artifactKey,
        inputs: meta.inputs,
        outputs: meta.outputs,
        feature_spec: meta.feature_spec,
        ...(meta.precomputed ? { precomputed: meta.precomputed } : {}),
        ...(meta.pool ? { pool: meta.pool } : {}),
      };
    }
    const byAlias = new Map(aliasRows.filter((a) => a.modelId === m.id).map((a) => [a.alias, a.version]));
    // Gateways let clients pin only deployed or aliased versions, so they need the aliases.
    if (byAlias.size) entry.aliases = Object.fromEntries(byAlias);
    const dep = deploymentRows.find((r) => r.modelId === m.id);
    if (dep) {
      const spec = dep.spec as PutDeployment;
      const target = (t: { version?: number | undefined; alias?: string | undefined }) => t.version ?? byAlias.get(t.alias!);
      const variants = spec.variants.map((v) => ({ name: v.name, version: target(v) }));
      const shadows = spec.shadows.map((s) => ({ version: target(s), rate_bp: s.rate, salt: `${m.name}:shadow:${target(s)}` }));
      // An alias removed after deployment leaves a variant without a version: skip the model's
      // deployment rather than publish a route to nothing.
      if ([...variants, ...shadows].every((t) => t.version !== undefined && entry.versions[String(t.version)])) {
        entry.deployment = {
          epoch: dep.epoch,
          salt: `${m.name}:${dep.epoch}`,
          allocation: dep.allocation as Allocation as [number, number, string][],
          variants: variants as { name: string; version: number }[],
          shadows: shadows as { version: number; rate_bp: number; salt: string }[],
          ...(spec.fallback ? { fallback: spec.fallback } : {}),
        };
      }
    }
    out.models[m.name] = entry;
  }
  return out;
}
