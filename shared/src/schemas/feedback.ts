// Feedback: labels that join predictions by request id (and position, for ranked lists).
import { z } from "zod";
import { nameSchema } from "./common.ts";
import { requestIdSchema } from "./predict.ts";

export const feedbackItemSchema = z.object({
  request_id: requestIdSchema,
  label: z.number().refine(Number.isFinite, "must be a finite number"),
  /** When the outcome happened (epoch ms); defaults to when the gateway received it. */
  ts: z.number().int().positive().optional(),
  /** For a ranked response: the position the feedback is about. */
  position: z.number().int().min(0).max(1000).optional(),
  /**
   * The model that made the prediction. Without it, the label looks among the models the key may
   * call; naming it keeps the lookup to one model.
   */
  model: nameSchema.optional(),
});
export type FeedbackItem = z.infer<typeof feedbackItemSchema>;

export const feedbackRequestSchema = z.union([feedbackItemSchema.strict(), z.object({ items: z.array(feedbackItemSchema.strict()).min(1).max(500) }).strict()]);

/** What the gateway queues for the control plane. */
export const feedbackMessageSchema = feedbackItemSchema.extend({
  ts: z.number().int().positive(),
  key_id: z.string(),
  /**
   * The models this label may join: the named model, or every model the key is scoped to. Absent
   * means any model (a key scoped to "*", or a message queued before this field existed).
   */
  models: z.array(nameSchema).max(256).optional(),
});
export type FeedbackMessage = z.infer<typeof feedbackMessageSchema>;

/** The prediction a feedback item is about, as logged: ranked positions are `{request_id}#{position}`. */
export function feedbackTarget(f: Pick<FeedbackItem, "request_id" | "position">): string {
  return f.position === undefined ? f.request_id : `${f.request_id}#${f.position}`;
}
