// The log lake's retention: each model's date partitions older than its retention are deleted by
// the cron, a bounded number of objects per tick. (A bucket lifecycle rule on `logs/` can do the
// same for a single deployment-wide retention; per-model retention needs this.)
import { eq } from "drizzle-orm";
import { controlPlaneConfig } from "../config.ts";
import type { Db } from "../db/client.ts";
import { logSettings, models } from "../db/schema.ts";
import { LAKE_PREFIX } from "./keys.ts";

export async function expireLake(env: Env, d: Db, now = Date.now(), budget = 5000): Promise<number> {
  const rows = await d.select({ name: models.name, days: logSettings.retentionDays }).from(models).leftJoin(logSettings, eq(logSettings.modelId, models.id)).all();
  let deleted = 0;
  for (const m of rows) {
    const keepFrom = new Date(now - (m.days ?? controlPlaneConfig(env).LOG_RETENTION_DAYS) * 86_400_000).toISOString().slice(0, 10);
    const dates = await env.LOGS.list({ prefix: `${LAKE_PREFIX}${m.name}/`, delimiter: "/" });
    for (const prefix of dates.delimitedPrefixes) {
      const date = prefix.slice(-11, -1);
      if (date >= keepFrom) continue;
      let cursor: string | undefined;
      do {
        const page = await env.LOGS.list({ prefix, limit: 1000, ...(cursor ? { cursor } : {}) });
        if (page.objects.length) await env.LOGS.delete(page.objects.map((o) => o.key));
        deleted += page.objects.length;
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor && deleted < budget);
      if (deleted >= budget) return deleted;
    }
  }
  return deleted;
}
