// POST /v1/feedback: labels for earlier predictions, queued to the control plane (202). A label is
// for a prediction of a model this key may call: the model it names, or else any of the key's
// models; the control plane joins it to that (model, prediction) and nothing else.
import { gatewayApi } from "@verge/shared/api/gateway";
import { describe } from "@verge/shared/openapi";
import { ApiError, feedbackRequestSchema, type FeedbackMessage } from "@verge/shared";
import { requireClientKey } from "../auth/client-key.ts";
import { jsonBody, newApp } from "../http/app.ts";

export const feedbackRoutes = newApp().post("/", describe(gatewayApi.feedback), requireClientKey(), jsonBody(feedbackRequestSchema), async (c) => {
  const body = c.req.valid("json");
  const items = "items" in body ? body.items : [body];
  const now = Date.now();
  const key = c.get("key");
  const anyModel = key.models.includes("*");
  // All or nothing: one label the key may not give refuses the whole request.
  items.forEach((item, i) => {
    if (item.model !== undefined && !anyModel && !key.models.includes(item.model)) {
      throw new ApiError("forbidden", `${"items" in body ? `items[${i}].` : ""}model: this key may not label predictions of model "${item.model}"`);
    }
  });
  const messages = items.map((i): { body: FeedbackMessage; contentType: "json" } => {
    const models = i.model !== undefined ? [i.model] : anyModel ? undefined : key.models;
    return { body: { ...i, ts: i.ts ?? now, key_id: key.id, ...(models ? { models } : {}) }, contentType: "json" };
  });
  for (let i = 0; i < messages.length; i += 100) await c.env.FEEDBACK.sendBatch(messages.slice(i, i + 100));
  return c.json({ accepted: items.length }, 202);
});
