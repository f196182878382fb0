// GET /v1/snapshot: versioned, with ETag revalidation so gateways can poll cheaply.
import { db, snapshotVersion } from "../db/client.ts";
import { newApp } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { buildSnapshot } from "./build.ts";

export const snapshotRoutes = newApp().get("/", guard(api.snapshot), async (c) => {
  const d = db(c.env);
  const version = await snapshotVersion(d);
  const etag = `"snap-${version}"`;
  if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
  const snapshot = await buildSnapshot(d);
  return c.json(snapshot, 200, { etag: `"snap-${snapshot.version}"` });
});
