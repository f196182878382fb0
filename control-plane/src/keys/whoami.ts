// GET /v1/whoami: the caller's identity and role, so the CLI and the dashboard offer only what it may do.
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { ApiError } from "@verge/shared";
import { newApp } from "../http/app.ts";
import { guard } from "../http/auth.ts";

export const whoamiRoutes = newApp().get("/", guard(api.whoami), (c) => {
  const p = c.get("principal");
  if (p.kind !== "token") throw new ApiError("forbidden", "this route is for admin-API tokens");
  return c.json({ actor: p.actor, role: p.role });
});
