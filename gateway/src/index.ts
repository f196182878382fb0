// The gateway worker: the data plane that client apps call.
import { ApiError, LIMITS, nameSchema, predictRequestSchema } from "@verge/shared";
import { gatewayApi } from "@verge/shared/api/gateway";
import { describe, openApiDocument, referencePage } from "@verge/shared/openapi";
import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { requireClientKey } from "./auth/client-key.ts";
import { gatewayConfig } from "./config.ts";
import { jsonBody, newApp, notFound, onError, validate, type AppEnv } from "./http/app.ts";
import { feedbackRoutes } from "./feedback/routes.ts";
import { PROBE_PATH, probeRoutes } from "./features/probe.ts";
import { oipRoutes } from "./oip/routes.ts";
import { rankRoutes } from "./rank/routes.ts";
import { predict } from "./predict/handler.ts";
import { benchInferOnly, measurePhases } from "./bench/phases.ts";

const modelParam = z.object({ model: nameSchema });
/** The largest refused body still read to its end, so its connection stays open (see below). */
const DRAIN_MAX_BYTES = 4 * LIMITS.maxBodyBytes;

export const app: Hono<AppEnv> = newApp()
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
      onError: async (c) => {
        // Answering with the body unread makes the HTTP server drop the connection as it answers,
        // and a client still uploading, or one that sends its next request on that connection,
        // then sees a closed connection instead of the 413. So a body up to a few times the limit
        // is read and dropped first (what web servers call a lingering close); beyond that the
        // connection is not worth keeping.
        const declared = Number(c.req.header("content-length") ?? Number.POSITIVE_INFINITY);
        if (declared <= DRAIN_MAX_BYTES) await c.req.raw.body?.pipeTo(new WritableStream()).catch(() => undefined);
        throw new ApiError("payload_too_large", `body: requests are limited to ${LIMITS.maxBodyBytes} bytes`);
      },
    }),
  )
  .get("/openapi.json", async (c) => c.json(await document()))
  .get("/docs", async (c) => c.html(referencePage(await document())))
  .route("/v2", oipRoutes)
  .route(PROBE_PATH, probeRoutes)
  .route("/v1/feedback", feedbackRoutes)
  .route("/v1/models", rankRoutes)
  .post(
    "/v1/models/:model/predict",
    describe(gatewayApi.predict),
    validate("param", modelParam),
    requireClientKey(),
    jsonBody(predictRequestSchema),
    (c) => {
      // Benchmarks only (BENCH_PHASES=1): `x-bench-cut` ends the request early to bisect throughput.
      const cut = gatewayConfig(c.env).BENCH_PHASES === "1" ? c.req.header("x-bench-cut") : undefined;
      if (cut === "handler") return new Response("{}");
      if (cut === "infer") return benchInferOnly(c.env, c.get("snapshot"), c.req.valid("param").model);
      return predict(c, c.req.valid("param").model, c.req.valid("json"), { noLog: cut === "nolog" });
    },
  )
  // Benchmarks only (BENCH_PHASES=1): CPU per predict by phase; otherwise no such route.
  .post("/__bench/phases", (c) => (gatewayConfig(c.env).BENCH_PHASES === "1" ? measurePhases(c.req.raw, c.env, (r, e, x) => app.fetch(r, e, x)) : notFound(c)))
  .notFound(notFound)
  .onError(onError);

let cached: ReturnType<typeof openApiDocument> | undefined;
/** Generated once per isolate, from the routes' contracts and validators. */
const document = () => (cached ??= openApiDocument(app, { title: "Verge gateway", description: "Predictions, ranking, feedback and the Open Inference Protocol v2. Authenticate with a client key." }));

export default { fetch: app.fetch } satisfies ExportedHandler<Env>;
export { RateLimiter } from "./auth/global-limiter.ts";
