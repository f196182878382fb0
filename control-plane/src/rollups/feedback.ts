// Stores feedback from the queue. Redelivery rewrites the same row (keyed by its target), so
// each label counts once; a later label for the same prediction replaces the earlier one.
import { sql } from "drizzle-orm";
import { feedbackMessageSchema, feedbackTarget } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { feedback } from "../db/schema.ts";

const ROWS_PER_INSERT = 20; // 5 parameters each, D1 allows 100

export async function storeFeedback(d: Db, bodies: readonly unknown[], now = Date.now()): Promise<{ accepted: number; counted: number; rejected: number }> {
  const rows = [];
  let rejected = 0;
  for (const body of bodies) {
    const parsed = feedbackMessageSchema.safeParse(body);
    if (!parsed.success) {
      rejected++;
      continue;
    }
    rows.push({ target: feedbackTarget(parsed.data), label: parsed.data.label, ts: parsed.data.ts, keyId: parsed.data.key_id, receivedAt: now });
  }
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    statements.push(
      d
        .insert(feedback)
        .values(rows.slice(i, i + ROWS_PER_INSERT))
        .onConflictDoUpdate({ target: feedback.target, set: { label: sql`excluded.label`, ts: sql`excluded.ts`, receivedAt: sql`excluded.received_at` } }),
    );
  }
  if (statements.length) await d.batch([statements[0]!, ...statements.slice(1)]);
  return { accepted: rows.length, counted: rows.length, rejected };
}
