// The control plane's OpenAPI document, generated from its routes' contracts and validators, and
// a reference page built from it (no scripts, works offline).
import type { Hono } from "hono";
import { openApiDocument, referencePage } from "@verge/shared/openapi";
import type { AppEnv } from "./http/app.ts";

type Doc = Awaited<ReturnType<typeof openApiDocument>>;
let cached: Promise<Doc> | undefined;

/** Generated once per isolate: the routes never change while it runs. */
export function controlPlaneDocument(app: Hono<AppEnv>): Promise<Doc> {
  cached ??= openApiDocument(app, { title: "Verge control plane", description: "Model registry, deployments, promotion, monitoring and access. Authenticate with `Authorization: Bearer <token>`." });
  return cached;
}

export async function controlPlaneReference(app: Hono<AppEnv>): Promise<string> {
  return referencePage(await controlPlaneDocument(app));
}
