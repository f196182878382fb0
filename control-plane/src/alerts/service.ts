// Alerts: raised by the monitoring sweep (drift, guardrails, sample-ratio mismatch), one open
// alert per subject, and delivered to webhooks through an outbox with exponential backoff.
import { and, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { DEFAULT_PROMOTION_RULE, guardrailBreaches, sampleRatioMismatch, sharesOf, signRequest, windowMetrics, type Allocation, type PromotionRule } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { alerts, deliveries, deployments, models, promotionRules, webhooks } from "../db/schema.ts";
import { driftReport, modelThresholds } from "../rollups/drift.ts";
import { readWindow } from "../rollups/reader.ts";

export type AlertKind = (typeof alerts.$inferSelect)["kind"];

export interface RaisedAlert {
  model: string;
  version: number;
  kind: AlertKind;
  subject: string;
  details: Record<string, unknown>;
}

const MAX_ATTEMPTS = 8;

/** Opens the alert, or refreshes the open one for the same subject; new alerts fan out to webhooks. */
export async function raiseAlert(d: Db, a: RaisedAlert, now = Date.now()): Promise<void> {
  await d.batch(alertStatements(d, a, now));
}

/**
 * The statements that raise an alert, to run inside a caller's batch so the alert commits with
 * the state change that raised it (or not at all): refresh the open alert for the subject if any,
 * else open one (the partial unique index keeps one open per subject), and fan a newly opened one
 * out to every webhook. No read first, so nothing can change between deciding and writing.
 */
export function alertStatements(d: Db, a: RaisedAlert, now: number) {
  const at = new Date(now).toISOString();
  const same = and(eq(alerts.model, a.model), eq(alerts.version, a.version), eq(alerts.kind, a.kind), eq(alerts.subject, a.subject), eq(alerts.status, "open"));
  return [
    d.update(alerts).set({ details: a.details, lastSeenAt: at }).where(same),
    d.insert(alerts).values({ model: a.model, version: a.version, kind: a.kind, subject: a.subject, details: a.details, openedAt: at, lastSeenAt: at }).onConflictDoNothing(),
    // Every column of deliveries in order (drizzle lists them all): id, webhook, alert, status, attempts, due, error, claim.
    // Only an alert opened by this raise fans out; a refreshed one already has its deliveries (ON CONFLICT).
    d
      .insert(deliveries)
      .select(
        sql`SELECT NULL, ${webhooks.id}, (SELECT ${alerts.id} FROM ${alerts} WHERE ${same} AND ${alerts.openedAt} = ${at}), 'pending', 0, ${now}, NULL, NULL, NULL
      FROM ${webhooks} WHERE ${webhooks.revokedAt} IS NULL AND EXISTS (SELECT 1 FROM ${alerts} WHERE ${same} AND ${alerts.openedAt} = ${at})`,
      )
      .onConflictDoNothing(),
  ] as const;
}

const MINUTE = 60_000;

/**
 * The window a sweep at `now` judges: the last `windowMs` of whole minutes, the current one
 * included. A shift at T is judged on post-shift traffic alone from the tick at T + window − 1 min
 * on, so a shift that traffic alone would alert on is alerted within one window after T.
 */
export function sweepWindow(now: number, windowMs: number): { from: number; to: number } {
  const to = (Math.floor(now / MINUTE) + 1) * MINUTE;
  return { from: to - windowMs, to };
}

/** The cron's monitoring sweep over the last window of every deployed model. */
export async function sweep(env: Env, d: Db, now = Date.now(), windowMs = 3_600_000): Promise<number> {
  const deployed = await d.select({ id: models.id, name: models.name, allocation: deployments.allocation }).from(deployments).innerJoin(models, eq(models.id, deployments.modelId)).all();
  const window = sweepWindow(now, windowMs);
  // Each alert carries the window it was judged on.
  const judged = { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() };
  let raised = 0;
  const failures: unknown[] = [];
  for (const m of deployed) {
    // One model's failure (a shard that does not answer, a corrupt row) must not keep the others
    // unjudged: it is logged, the sweep goes on, and the step still reports failure at the end.
    try {
      raised += await sweepModel(env, d, m, window, judged, now);
    } catch (err) {
      console.error(`sweep of model "${m.name}" failed:`, err);
      failures.push(err);
    }
  }
  if (failures.length) throw new AggregateError(failures, `sweep failed for ${failures.length} of ${deployed.length} models`);
  return raised;
}

type Deployed = { id: number; name: string; allocation: unknown };

async function sweepModel(env: Env, d: Db, m: Deployed, window: { from: number; to: number }, judged: { from: string; to: string }, now: number): Promise<number> {
  let raised = 0;
  // One read of the window's shards serves drift, guardrails and sample ratios alike.
  const rollup = await readWindow(env, d, m.name, window, { parts: ["counts", "latency", "bins"] });
  for (const v of await driftReport(env, d, m, window, await modelThresholds(d, m.id), undefined, rollup.bins)) {
    for (const f of [...v.features, ...(v.prediction ? [v.prediction] : [])].filter((x) => x.status === "alert")) {
      await raiseAlert(d, { model: m.name, version: v.version, kind: "drift", subject: f.feature, details: { psi: f.psi, js: f.js, test: f.test, samples: f.samples, reasons: f.reasons, window: judged } }, now);
      raised++;
    }
  }
  const ruleRow = await d.select().from(promotionRules).where(eq(promotionRules.modelId, m.id)).get();
  const g = ((ruleRow?.rule as PromotionRule | undefined) ?? DEFAULT_PROMOTION_RULE).guardrails;
  const shares = sharesOf(m.allocation as Allocation);
  const counts: number[] = [];
  for (const variant of shares.keys()) {
    const w = windowMetrics(rollup, { variant });
    counts.push(w.samples);
    for (const b of guardrailBreaches(g, w)) {
      const details = b.guardrail === "error_rate" ? { error_rate: b.value, max: b.max } : { p99_ms: b.value, max: b.max };
      await raiseAlert(d, { model: m.name, version: 0, kind: "guardrail", subject: `${variant}:${b.guardrail}`, details: { ...details, samples: b.samples, window: judged } }, now);
      raised++;
    }
  }
  if (counts.length > 1 && counts.reduce((s, x) => s + x, 0) >= 1000) {
    const srm = sampleRatioMismatch(counts, [...shares.values()]);
    if (srm.mismatch) {
      await raiseAlert(d, { model: m.name, version: 0, kind: "sample_ratio_mismatch", subject: "assignment", details: { ...srm, counts, weights: [...shares.values()], window: judged } }, now);
      raised++;
    }
  }
  return raised;
}

/** How long a sender holds a delivery it claimed: longer than a batch of sends at their 5 s timeout. */
const CLAIM_MS = 10 * 60_000;
const BATCH = 50;

/**
 * Sends every due delivery once; failures are retried with exponential backoff, then given up.
 * Each run first claims its batch with one atomic UPDATE (a lease on rows no live lease holds),
 * sends only what it claimed, and records an outcome only while it still holds the claim, so
 * overlapping cron runs never send the same delivery twice. A run that dies leaves its claims
 * to expire (by the wall clock, not the tick's time, which a replayed tick may set anywhere).
 */
export async function deliverDue(d: Db, baseBackoffMs: number, now = Date.now(), fetcher: typeof fetch = fetch): Promise<{ delivered: number; failed: number }> {
  const token = crypto.randomUUID();
  const wall = Date.now();
  const due = d
    .select({ id: deliveries.id })
    .from(deliveries)
    .innerJoin(webhooks, and(eq(webhooks.id, deliveries.webhookId), isNull(webhooks.revokedAt)))
    .where(and(eq(deliveries.status, "pending"), lte(deliveries.nextAttemptAt, now), or(isNull(deliveries.claimedUntil), lte(deliveries.claimedUntil, wall))))
    .orderBy(deliveries.id)
    .limit(BATCH);
  // The lease condition is checked again by the UPDATE itself: of two runs selecting the same
  // rows, the second one's UPDATE finds them leased and claims nothing.
  const claimed = await d
    .update(deliveries)
    .set({ claimedUntil: wall + CLAIM_MS, claimToken: token })
    .where(and(inArray(deliveries.id, due), eq(deliveries.status, "pending"), or(isNull(deliveries.claimedUntil), lte(deliveries.claimedUntil, wall))))
    .returning({ id: deliveries.id });
  if (!claimed.length) return { delivered: 0, failed: 0 };
  const rows = await d
    .select({ delivery: deliveries, alert: alerts, webhook: webhooks })
    .from(deliveries)
    .innerJoin(alerts, eq(alerts.id, deliveries.alertId))
    .innerJoin(webhooks, eq(webhooks.id, deliveries.webhookId))
    .where(and(eq(deliveries.claimToken, token), inArray(deliveries.id, claimed.map((c) => c.id))))
    .orderBy(deliveries.id)
    .all();
  let delivered = 0;
  let failed = 0;
  for (const { delivery, alert, webhook } of rows) {
    const body = JSON.stringify({ event: "alert.opened", alert: presentAlert(alert) });
    let error: string | undefined;
    try {
      const path = new URL(webhook.url).pathname;
      const res = await fetcher(webhook.url, { method: "POST", headers: { "content-type": "application/json", ...(await signRequest(webhook.secret, "POST", path, body)) }, body, signal: AbortSignal.timeout(5000) });
      if (!res.ok) error = `answered ${res.status}`;
      await res.body?.cancel();
    } catch (err) {
      error = (err as Error).message;
    }
    const attempts = delivery.attempts + 1;
    const mine = and(eq(deliveries.id, delivery.id), eq(deliveries.claimToken, token));
    const release = { claimedUntil: null, claimToken: null };
    if (!error) {
      delivered++;
      await d.update(deliveries).set({ status: "delivered", attempts, lastError: null, ...release }).where(mine);
    } else {
      failed++;
      const giveUp = attempts >= MAX_ATTEMPTS;
      await d
        .update(deliveries)
        .set({ status: giveUp ? "failed" : "pending", attempts, lastError: error, nextAttemptAt: now + baseBackoffMs * 2 ** (attempts - 1), ...release })
        .where(mine);
    }
  }
  return { delivered, failed };
}

export function presentAlert(a: typeof alerts.$inferSelect) {
  return {
    id: a.id,
    model: a.model,
    version: a.version || null,
    kind: a.kind,
    subject: a.subject,
    status: a.status,
    details: a.details,
    opened_at: a.openedAt,
    last_seen_at: a.lastSeenAt,
    acked_by: a.ackedBy,
    acked_at: a.ackedAt,
  };
}
