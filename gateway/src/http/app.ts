// The gateway's Hono type.
import { Hono } from "hono";
import type { Snapshot } from "@verge/shared";
import type { SnapshotKey } from "../auth/client-key.ts";

export { jsonBody, notFound, onError, validate } from "@verge/shared/http";

export type AppEnv = { Bindings: Env; Variables: { key: SnapshotKey; snapshot: Snapshot } };

export const newApp = () => new Hono<AppEnv>();
