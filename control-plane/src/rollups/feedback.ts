// The feedback consumer: each label joins its prediction in that prediction's rollup shard, found
// by model (the one the label names, or the models its key may call), day (newest first, back over
// the feedback window) and sub-shard (the hash of the target). The first label of a prediction
// stands; a later one is a duplicate (same value) or a conflict (counted, not applied). A label
// whose prediction is not there yet (it may still be in the log queue) is retried with backoff,
// and kept as a dead letter if it never finds one.
import { feedbackMessageSchema, feedbackTarget, type FeedbackMessage } from "@verge/shared";
import { controlPlaneConfig } from "../config.ts";
import type { Db } from "../db/client.ts";
import { models } from "../db/schema.ts";
import { storeDeadLetter } from "../dead-letters/store.ts";
import { advanceConcept } from "./concept.ts";
import { daysSince, mapLimit, shardName, shardStub, subOf } from "./directory.ts";
import { dayOf, type LabelItem, type LabelOutcome, type ShardRef } from "./shard-types.ts";

export interface FeedbackOutcome {
  /** Messages to acknowledge (joined, duplicate, conflicting, invalid or given up on). */
  ack: Message<unknown>[];
  /** Messages whose prediction was not found yet, with the delay before the next try. */
  retry: { message: Message<unknown>; delaySeconds: number }[];
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
}

/** Tries a label gets to find its prediction before it becomes a dead letter. */
export const MATCH_ATTEMPTS = 8;

export async function ingestFeedback(env: Env, d: Db, messages: readonly Message<unknown>[], now = Date.now()): Promise<FeedbackOutcome> {
  const out: FeedbackOutcome = { ack: [], retry: [], applied: 0, duplicates: 0, conflicts: 0, rejected: 0 };
  const invalid: Message<unknown>[] = [];
  const labels: { message: Message<unknown>; f: FeedbackMessage; target: string; found: boolean }[] = [];
  for (const message of messages) {
    const parsed = feedbackMessageSchema.safeParse(message.body);
    if (parsed.success) labels.push({ message, f: parsed.data, target: feedbackTarget(parsed.data), found: false });
    else invalid.push(message);
  }
  if (invalid.length) {
    await storeDeadLetter(env, d, { queue: "feedback", reason: "messages that do not match the feedback schema", bodies: invalid.map((m) => m.body), ids: invalid.map((m) => m.id) });
    out.rejected = invalid.length;
    out.ack.push(...invalid);
  }

  // Which shards each label may be in: its models' days within the feedback window, newest first.
  const config = controlPlaneConfig(env);
  const windowDays = config.FEEDBACK_WINDOW_DAYS;
  const anyModel = labels.some((l) => !l.f.models) ? (await d.select({ name: models.name }).from(models).all()).map((m) => m.name) : [];
  const candidates = new Set(labels.flatMap((l) => l.f.models ?? anyModel));
  const days = await daysSince(d, [...candidates], dayOf(now) - windowDays - 1);
  const touched = new Map<string, ShardRef>();
  const byRound = new Map<number, Map<string, { ref: ShardRef; items: (LabelItem & { index: number })[] }>>();
  labels.forEach((l, index) => {
    const allowed = new Set(l.f.models ?? anyModel);
    let round = 0;
    for (const day of days) {
      if (!allowed.has(day.model) || day.day < dayOf(l.f.ts) - windowDays - 1) continue;
      const ref = { model: day.model, day: day.day, sub: subOf(l.target, day.subs) };
      const rounds = byRound.get(round) ?? new Map();
      byRound.set(round++, rounds);
      const entry = rounds.get(shardName(ref)) ?? { ref, items: [] };
      rounds.set(shardName(ref), entry);
      entry.items.push({ target: l.target, label: l.f.label, ts: l.f.ts, index });
    }
  });
  // Round r asks each label's r-th newest shard; a label found in a model stops looking in it.
  const foundIn = labels.map(() => new Set<string>());
  for (const round of [...byRound.keys()].sort((a, b) => a - b)) {
    const asks = [...byRound.get(round)!.values()]
      .map((e) => ({ ref: e.ref, items: e.items.filter((i) => !foundIn[i.index]!.has(e.ref.model)) }))
      .filter((e) => e.items.length > 0);
    const answers = await mapLimit(asks, 16, async (e) => ({ e, outcomes: await shardStub(env, e.ref).label(e.ref, e.items.map(({ index: _, ...item }) => item)) }));
    for (const { e, outcomes } of answers) {
      outcomes.forEach((o: LabelOutcome, i) => {
        if (o.status === "missing") return;
        const index = e.items[i]!.index;
        foundIn[index]!.add(e.ref.model);
        labels[index]!.found = true;
        if (o.status === "applied") {
          out.applied++;
          touched.set(shardName(e.ref), e.ref);
        } else if (o.status === "duplicate") out.duplicates++;
        else out.conflicts++;
      });
    }
  }

  const givenUp: typeof labels = [];
  for (const l of labels) {
    if (l.found) out.ack.push(l.message);
    else if (l.message.attempts >= MATCH_ATTEMPTS) givenUp.push(l);
    else out.retry.push({ message: l.message, delaySeconds: Math.min(300, config.FEEDBACK_RETRY_BASE_S * 2 ** (l.message.attempts - 1)) });
  }
  if (givenUp.length) {
    await storeDeadLetter(env, d, {
      queue: "feedback",
      reason: `labels whose prediction was not found after ${MATCH_ATTEMPTS} tries (no such request id among the predictions of the models the key may label, within the ${windowDays}-day feedback window)`,
      bodies: givenUp.map((l) => l.message.body),
      ids: givenUp.map((l) => l.message.id),
    });
    out.ack.push(...givenUp.map((l) => l.message));
  }
  if (touched.size) await advanceConcept(env, d, [...touched.values()], now);
  return out;
}
