// The gateway worker: the data plane that client apps call.
import { ApiError, LIMITS, nameSchema, predictRequestSchema } from "@verge/shared";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { requireClientKey } from "./auth/client-key.ts";
import { gatewayConfig } from "./config.ts";
import { jsonBody, newApp, onError, validate } from "./http/app.ts";
import { feedbackRoutes } from "./feedback/routes.ts";
import { PROBE_PATH, probeRoutes } from "./features/probe.ts";
import { oipRoutes } from "./oip/routes.ts";
import { rankRoutes } from "./rank/routes.ts";
import { predict } from "./predict/handler.ts";

const modelParam = z.object({ model: nameSchema });

export const app = newApp()
  // A bad setting fails every request by name (503), rather than serving with a wrong value.
  .use("*", async (c, next) => {
    gatewayConfig(c.env);
    await next();
  })
  // Every body is bounded before anything reads it.
  .use(
    "*",
    bodyLimit({
      maxSize: LIMITS.maxBodyBytes,
      onError: () => {
        throw new ApiError("payload_too_large", `body: requests are limited to ${LIMITS.maxBodyBytes} bytes`);
      },
    }),
  )
  .route("/v2", oipRoutes)
  .route(PROBE_PATH, probeRoutes)
  .route("/v1/feedback", feedbackRoutes)
  .route("/v1/models", rankRoutes)
  .post(
    "/v1/models/:model/predict",
    validate("param", modelParam),
    requireClientKey(),
    jsonBody(predictRequestSchema),
    (c) => predict(c, c.req.valid("param").model, c.req.valid("json")),
  )
  .notFound((c) => new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`).toResponse())
  .onError(onError);

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
