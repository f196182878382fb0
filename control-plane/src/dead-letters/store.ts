// Dead letters: batches neither consumer could count — those the queues moved to a dead-letter
// queue after every retry, records that failed validation, records too old to be counted exactly,
// labels that found no prediction. Each is kept whole in the lake bucket (under `dead/`) and listed
// in D1, until an operator re-drives it to its queue.
import { sha256Hex, type DeadLetterQueue } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { deadLetters } from "../db/schema.ts";
import { DEAD_PREFIX } from "../lake/keys.ts";

export const QUEUES = {
  "prediction-logs": "verge-prediction-logs",
  feedback: "verge-feedback",
} as const satisfies Record<DeadLetterQueue, string>;

export interface DeadBatch {
  queue: DeadLetterQueue;
  reason: string;
  /** The message bodies, as they were queued. */
  bodies: readonly unknown[];
  /** Message ids when known: a redelivered dead batch is then stored once. */
  ids?: readonly string[];
}

/** Stores a dead batch; the same batch stored twice is one dead letter. Returns its id. */
export async function storeDeadLetter(env: Env, d: Db, batch: DeadBatch): Promise<string> {
  const identity = batch.ids?.length ? [...batch.ids].sort().join(",") : JSON.stringify(batch.bodies);
  const id = (await sha256Hex(`${batch.queue}\n${batch.reason}\n${identity}`)).slice(0, 32);
  const objectKey = `${DEAD_PREFIX}${batch.queue}/${new Date().toISOString().slice(0, 10)}/${id}.json`;
  await env.LOGS.put(objectKey, JSON.stringify({ queue: batch.queue, reason: batch.reason, bodies: batch.bodies }), { httpMetadata: { contentType: "application/json" } });
  await d.insert(deadLetters).values({ id, queue: batch.queue, reason: batch.reason.slice(0, 1000), messages: batch.bodies.length, objectKey }).onConflictDoNothing();
  console.warn(JSON.stringify({ event: "dead_letter", id, queue: batch.queue, messages: batch.bodies.length, reason: batch.reason.slice(0, 200) }));
  return id;
}

/** The stored bodies of a dead letter. */
export async function deadBodies(env: Env, objectKey: string): Promise<unknown[] | undefined> {
  const object = await env.LOGS.get(objectKey);
  if (!object) return undefined;
  return ((await object.json()) as { bodies: unknown[] }).bodies;
}
