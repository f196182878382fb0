// POST /v1/feedback: labels for earlier predictions, queued to the control plane (202).
import { gatewayApi } from "@verge/shared/api/gateway";
import { describe } from "@verge/shared/openapi";
import { feedbackRequestSchema, type FeedbackMessage } from "@verge/shared";
import { requireClientKey } from "../auth/client-key.ts";
import { jsonBody, newApp } from "../http/app.ts";

export const feedbackRoutes = newApp().post("/", describe(gatewayApi.feedback), requireClientKey(), jsonBody(feedbackRequestSchema), async (c) => {
  const body = c.req.valid("json");
  const items = "items" in body ? body.items : [body];
  const now = Date.now();
  const keyId = c.get("key").id;
  const messages = items.map((i): { body: FeedbackMessage; contentType: "json" } => ({ body: { ...i, ts: i.ts ?? now, key_id: keyId }, contentType: "json" }));
  for (let i = 0; i < messages.length; i += 100) await c.env.FEEDBACK.sendBatch(messages.slice(i, i + 100));
  return c.json({ accepted: items.length }, 202);
});
