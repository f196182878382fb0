// The control plane's Hono type.
import { Hono } from "hono";
import type { Principal } from "./auth.ts";

export { jsonBody, notFound, onError, validate } from "@verge/shared/http";

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };

export const newApp = () => new Hono<AppEnv>();
