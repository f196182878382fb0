// Records gateways could not queue were spilled to the lake bucket; the cron re-ingests them
// through the same path as the queue (so each is counted once), then deletes the objects. The
// number re-ingested is kept as a counter, reported with the dead letters.
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { counters } from "../db/schema.ts";
import { SPILL_PREFIX } from "../lake/keys.ts";
import { ingestLogs } from "../rollups/ingest.ts";

export const SPILL_COUNTER = "log_spill_records";

export async function reingestSpill(env: Env, d: Db, limit = 20): Promise<{ objects: number; records: number }> {
  const listed = await env.LOGS.list({ prefix: SPILL_PREFIX, limit });
  let records = 0;
  for (const o of listed.objects) {
    const object = await env.LOGS.get(o.key);
    if (!object) continue;
    const { records: spilled } = (await object.json()) as { records: unknown[] };
    // Envelopes of at most 1,000 records, as the consumer takes them.
    const envelopes = [];
    for (let i = 0; i < spilled.length; i += 1000) envelopes.push({ records: spilled.slice(i, i + 1000) });
    await ingestLogs(env, d, envelopes);
    await d.batch([
      d
        .insert(counters)
        .values({ name: SPILL_COUNTER, value: spilled.length })
        .onConflictDoUpdate({ target: counters.name, set: { value: sql`${counters.value} + ${spilled.length}` } }),
    ]);
    await env.LOGS.delete(o.key);
    records += spilled.length;
  }
  if (records) console.log(JSON.stringify({ event: "spill_reingested", objects: listed.objects.length, records }));
  return { objects: listed.objects.length, records };
}
