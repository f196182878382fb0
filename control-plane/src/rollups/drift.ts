// GET /v1/models/{model}/drift: per version, every reference feature and the prediction against
// the window's histograms (from rollups, so the cost grows with bins, not with traffic).
import { and, eq, inArray } from "drizzle-orm";
import { DEFAULT_DRIFT_THRESHOLDS, driftQuerySchema, inputIssueOf, driftThresholdsSchema, versionDrift, type AdwinState, type DriftReference, type DriftThresholds, type VersionMetadata, type WindowRollup } from "@verge/shared";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { auditEntry, db, findModel, type Db } from "../db/client.ts";
import { conceptState, driftSettings, versions } from "../db/schema.ts";
import { jsonBody, newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { modelParam } from "../registry/models.ts";
import { readWindow } from "./reader.ts";
import { windowOf } from "./routes.ts";

export const driftQuery = driftQuerySchema;

export const driftRoutes = newApp().get("/:model/drift", guard(api.drift), validate("param", modelParam), validate("query", driftQuery), async (c) => {
  const d = db(c.env);
  const model = await findModel(d, c.req.valid("param").model);
  const q = c.req.valid("query");
  const { from, to } = windowOf(q);
  const own = await modelThresholds(d, model.id);
  const thresholds = {
    psi_warn: q.psi_warn ?? own.psi_warn,
    psi_alert: q.psi_alert ?? own.psi_alert,
    js_warn: q.js_warn ?? own.js_warn,
    p_value: q.p_value ?? own.p_value,
    min_samples: q.min_samples ?? own.min_samples,
  };
  const versionsReport = await driftReport(c.env, d, model, { from, to }, thresholds, q.version);
  return c.json({ model: model.name, window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() }, thresholds, versions: versionsReport });
});

/** The defaults, overridden by the model's stored thresholds. */
export async function modelThresholds(d: Db, modelId: number): Promise<DriftThresholds> {
  const row = await d.select().from(driftSettings).where(eq(driftSettings.modelId, modelId)).get();
  return { ...DEFAULT_DRIFT_THRESHOLDS, ...((row?.thresholds as Partial<DriftThresholds> | undefined) ?? {}) };
}

export const driftSettingsRoutes = newApp()
  .put("/:model/drift-thresholds", guard(api.putDriftThresholds), validate("param", modelParam), jsonBody(driftThresholdsSchema), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    const thresholds = c.req.valid("json");
    await d.batch([
      d.insert(driftSettings).values({ modelId: model.id, thresholds }).onConflictDoUpdate({ target: driftSettings.modelId, set: { thresholds, updatedAt: new Date().toISOString() } }),
      auditEntry(d, { actor: c.get("principal").actor, action: "drift_thresholds.put", target: `models/${model.name}/drift-thresholds`, after: thresholds }),
    ]);
    return c.json(await modelThresholds(d, model.id));
  })
  .get("/:model/drift-thresholds", guard(api.getDriftThresholds), validate("param", modelParam), async (c) => {
    const d = db(c.env);
    const model = await findModel(d, c.req.valid("param").model);
    return c.json(await modelThresholds(d, model.id));
  });

/**
 * Drift of every version with traffic in the window (or one version), feature by feature; from
 * `bins` when the caller has read the window already (the sweep reads it once for everything).
 */
export async function driftReport(env: Env, d: Db, model: { id: number; name: string }, window: { from: number; to: number }, thresholds: DriftThresholds, version?: number, read?: WindowRollup["bins"]) {
  // Input-issue counts share the bins table; they are no histogram of any feature.
  const bins = (read ?? (await readWindow(env, d, model.name, window, { parts: ["bins"], version })).bins).filter((r) => !inputIssueOf(r.feature));
  // Concept-drift detectors of the model; a version whose detector took labels in the window is reported even without a reference.
  const detectors = await d
    .select()
    .from(conceptState)
    .where(and(eq(conceptState.model, model.name), ...(version !== undefined ? [eq(conceptState.version, version)] : [])))
    .all();
  const labelledInWindow = detectors.filter((x) => Date.parse(x.updatedAt) >= window.from && Date.parse(x.updatedAt) < window.to).map((x) => x.version);
  const versionNumbers = [...new Set([...bins.map((r) => r.version), ...labelledInWindow])].sort((a, b) => a - b);
  const metas = versionNumbers.length
    ? await d.select({ version: versions.version, metadata: versions.metadata }).from(versions).where(and(eq(versions.modelId, model.id), inArray(versions.version, versionNumbers))).all()
    : [];
  return metas.map((m) => ({
    ...versionDrift(m.version, (m.metadata as VersionMetadata).reference as DriftReference | undefined, bins, thresholds),
    concept: conceptOf(detectors.find((x) => x.version === m.version)?.state as AdwinState | undefined),
  }));
}

/** The concept-drift detector of a version: labels it has taken in, and the error rate of its current window. */
function conceptOf(state: AdwinState | undefined) {
  if (!state) return null;
  const n = state.window.length;
  return { labels: state.seen ?? null, window: n, error_rate: n ? state.window.reduce((s, x) => s + x, 0) / n : null };
}
