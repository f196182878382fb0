// The control plane worker: admin API, snapshot for gateways, and the prediction-log consumer.
import { alertRoutes, webhookRoutes } from "./alerts/routes.ts";
import { deliverDue, sweep } from "./alerts/service.ts";
import { auditRoutes } from "./audit/routes.ts";
import { controlPlaneConfig } from "./config.ts";
import { db } from "./db/client.ts";
import { deadLetterRoutes } from "./dead-letters/routes.ts";
import { reingestSpill } from "./dead-letters/spill.ts";
import { expireLake } from "./lake/retention.ts";
import { logRoutes } from "./lake/routes.ts";
import { logSettingsRoutes } from "./lake/settings.ts";
import { legacyRoutes } from "./rollups/legacy.ts";
import { maintainShards } from "./rollups/maintenance.ts";
import { controlPlaneDocument, controlPlaneReference } from "./openapi.ts";
import { whoamiRoutes } from "./keys/whoami.ts";
import { uiRoutes } from "./ui/routes.ts";
import { tokenRoutes } from "./keys/tokens.ts";
import { promotionRoutes } from "./registry/promote.ts";
import { rolloutRoutes } from "./rollouts/routes.ts";
import { evaluateAll } from "./rollouts/service.ts";
import { newApp, notFound, onError, type AppEnv } from "./http/app.ts";
import type { Hono } from "hono";
import { deploymentRoutes } from "./deployments/routes.ts";
import { keyRoutes } from "./keys/routes.ts";
import { aliasRoutes } from "./registry/aliases.ts";
import { modelRoutes } from "./registry/models.ts";
import { versionRoutes } from "./registry/versions.ts";
import { driftRoutes, driftSettingsRoutes } from "./rollups/drift.ts";
import { experimentRoutes } from "./rollups/experiment.ts";
import { metricsRoutes } from "./rollups/routes.ts";
import { handleQueue } from "./rollups/queue.ts";
import { scheduleRoutes } from "./schedules/routes.ts";
import { snapshotRoutes } from "./snapshot/routes.ts";

export const app: Hono<AppEnv> = newApp()
  .get("/healthz", (c) => c.json({ ok: true }))
  .get("/openapi.json", async (c) => c.json(await controlPlaneDocument(app)))
  .get("/docs", async (c) => c.html(await controlPlaneReference(app)))
  .get("/ui/", (c) => c.redirect("/ui"))
  .route("/ui", uiRoutes)
  .route("/v1/whoami", whoamiRoutes)
  .route("/v1/models", modelRoutes)
  .route("/v1/models", versionRoutes)
  .route("/v1/models", aliasRoutes)
  .route("/v1/models", deploymentRoutes)
  .route("/v1/models", metricsRoutes)
  .route("/v1/models", driftRoutes)
  .route("/v1/models", driftSettingsRoutes)
  .route("/v1/models", experimentRoutes)
  .route("/v1/models", logRoutes)
  .route("/v1/models", logSettingsRoutes)
  .route("/v1/models", promotionRoutes)
  .route("/v1/models", rolloutRoutes)
  .route("/v1/keys", keyRoutes)
  .route("/v1/tokens", tokenRoutes)
  .route("/v1/audit", auditRoutes)
  .route("/v1/alerts", alertRoutes)
  .route("/v1/webhooks", webhookRoutes)
  .route("/v1/schedules", scheduleRoutes)
  .route("/v1/snapshot", snapshotRoutes)
  .route("/v1/dead-letters", deadLetterRoutes)
  .route("/v1/admin", legacyRoutes)
  .notFound(notFound)
  .onError(onError);

export { RollupShard } from "./rollups/shard.ts";

export default {
  fetch: app.fetch,
  queue: handleQueue,
  // Cron trigger: promotion rules judge running rollouts, the monitoring sweep raises alerts, due
  // webhook deliveries go out, rollup shards compact and prune themselves, the log lake expires
  // old partitions, and spilled log records are re-ingested. Every step judges the tick's own time,
  // so a late start judges the same window, and a tick can be replayed for a chosen moment; one
  // failing step does not stop the rest.
  async scheduled(controller, env) {
    const d = db(env);
    const config = controlPlaneConfig(env);
    const now = controller.scheduledTime;
    const steps: [string, () => Promise<unknown>][] = [
      ["rollouts", () => evaluateAll(env, d, now)],
      ["sweep", () => sweep(env, d, now)],
      ["webhooks", () => deliverDue(d, config.ALERT_RETRY_BASE_MS, now)],
      ["shards", () => maintainShards(env, d, now)],
      ["lake retention", () => expireLake(env, d, now)],
      ["spill", () => reingestSpill(env, d)],
    ];
    let failed: unknown;
    const ms: Record<string, number> = {};
    for (const [name, step] of steps) {
      const started = performance.now();
      try {
        await step();
      } catch (err) {
        console.error(`cron step "${name}" failed:`, err);
        failed ??= err;
      }
      ms[name] = Math.round(performance.now() - started);
    }
    console.log(JSON.stringify({ event: "cron", ms }));
    if (failed) throw failed;
  },
} satisfies ExportedHandler<Env>;
