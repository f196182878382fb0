// Per-model log settings: the redaction list (applied at the gateway, through the snapshot, and
// again by the consumer for records from a gateway whose snapshot predates a change), the lake's
// retention and the number of rollup sub-shards per day.
import { eq } from "drizzle-orm";
import { logSettingsSchema, randomToken, type LogSettings, type RedactionPolicy } from "@verge/shared";
import { controlPlaneConfig } from "../config.ts";
import { auditEntry, bumpSnapshot, db, findModel, type Db } from "../db/client.ts";
import { logSettings, models } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "../registry/models.ts";

export interface ModelLogSettings extends RedactionPolicy {
  retentionDays: number | null;
  subshards: number | null;
}

const TTL_MS = 30_000;
const cache = new Map<string, { at: number; value: ModelLogSettings | undefined }>();

/** A model's settings, cached briefly per isolate (the consumer reads them for every batch). */
export async function logSettingsFor(d: Db, model: string, fresh = false): Promise<ModelLogSettings | undefined> {
  const now = Date.now();
  const hit = cache.get(model);
  if (hit && !fresh && now - hit.at < TTL_MS) return hit.value;
  const row = await d.select({ s: logSettings }).from(logSettings).innerJoin(models, eq(models.id, logSettings.modelId)).where(eq(models.name, model)).get();
  const value = row ? { redact: row.s.redact as LogSettings["redact"], salt: row.s.salt, retentionDays: row.s.retentionDays, subshards: row.s.subshards } : undefined;
  cache.set(model, { at: now, value });
  return value;
}

const present = (model: string, s: ModelLogSettings | undefined, env: Env) => ({
  model,
  redact: s?.redact ?? [],
  retention_days: s?.retentionDays ?? controlPlaneConfig(env).LOG_RETENTION_DAYS,
  subshards: s?.subshards ?? controlPlaneConfig(env).ROLLUP_SUBSHARDS,
});

export const logSettingsRoutes = newApp()
  .put("/:model/log-settings", guard(api.putLogSettings), validate("param", modelParam), jsonBody(logSettingsSchema), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const body = c.req.valid("json");
    const existing = await d.select().from(logSettings).where(eq(logSettings.modelId, model.id)).get();
    // The salt is made once and kept, so hashed values stay comparable across changes.
    const salt = existing?.salt ?? randomToken("salt", 16);
    const row = { modelId: model.id, redact: body.redact, salt, retentionDays: body.retention_days ?? null, subshards: body.subshards ?? null };
    await d.batch([
      d.insert(logSettings).values(row).onConflictDoUpdate({ target: logSettings.modelId, set: { ...row, updatedAt: new Date().toISOString() } }),
      // Gateways redact from the snapshot: publish the change.
      bumpSnapshot(d),
      auditEntry(d, { actor: c.get("principal").actor, action: "log_settings.put", target: `models/${model.name}/log-settings`, before: existing ? { redact: existing.redact, retention_days: existing.retentionDays, subshards: existing.subshards } : null, after: body }),
    ]);
    cache.delete(model.name);
    return c.json(present(model.name, { ...row, redact: body.redact }, c.env));
  })
  .get("/:model/log-settings", guard(api.getLogSettings), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    return c.json(present(model.name, await logSettingsFor(d, model.name, true), c.env));
  });
