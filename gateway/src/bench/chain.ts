// Benchmark-only (BENCH_PHASES=1): bisects the predict request path. The same predict request runs
// through apps that add the gateway's middleware one step at a time, so the difference between two
// neighbouring steps is what that step costs per request.
import { LIMITS, predictRequestSchema } from "@verge/shared";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { nameSchema } from "@verge/shared";
import { requireClientKey } from "../auth/client-key.ts";
import { gatewayConfig } from "../config.ts";
import { jsonBody, newApp, onError, validate, type AppEnv } from "../http/app.ts";
import { predict } from "../predict/handler.ts";

const modelParam = z.object({ model: nameSchema });
const config: MiddlewareHandler<AppEnv> = async (c, next) => {
  gatewayConfig(c.env);
  await next();
};
const limit = bodyLimit({ maxSize: LIMITS.maxBodyBytes });

/** Apps with the middleware chain cut after step k, each ending in a trivial or the real handler. */
export function chainSteps() {
  const steps: [string, MiddlewareHandler<AppEnv>][] = [
    ["config", config],
    ["body_limit", limit],
    ["param_validator", validate("param", modelParam) as unknown as MiddlewareHandler<AppEnv>],
    ["client_key", requireClientKey()],
    ["json_validator", jsonBody(predictRequestSchema) as unknown as MiddlewareHandler<AppEnv>],
  ];
  const apps: Record<string, { fetch: (r: Request, e: Env, x: ExecutionContext) => Response | Promise<Response> }> = {};
  for (let k = 0; k <= steps.length; k++) {
    const app = newApp();
    const chain = steps.slice(0, k).map(([, m]) => m);
    app.post("/v1/models/:model/predict", ...(chain as [MiddlewareHandler<AppEnv>]), (c) => c.json({ ok: true }));
    app.onError(onError);
    apps[k === 0 ? "bare_route" : `+${steps[k - 1]![0]}`] = app;
  }
  const full = newApp();
  full.post("/v1/models/:model/predict", ...(steps.map(([, m]) => m) as [MiddlewareHandler<AppEnv>]), (c) => predict(c, c.req.param("model")!, (c.req.valid as (t: "json") => z.infer<typeof predictRequestSchema>)("json")));
  full.onError(onError);
  apps["+predict_handler"] = full;
  return apps;
}
