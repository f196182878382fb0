// Lets the trainer prove at start-up that it writes where this gateway reads: it writes a probe
// row to its online store, then asks here what this gateway's store holds under that key. Signed
// with the origin secret (the one credential the trainer and gateways share), and limited to
// `probe:` keys, so it reveals nothing else in the store.
import { ApiError, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyRequest } from "@verge/shared";
import { parseJson } from "@verge/shared/http";
import { z } from "zod";
import { gatewayConfig } from "../config.ts";
import { newApp } from "../http/app.ts";
import { onlineStore } from "./store.ts";

export const PROBE_PATH = "/internal/online-store/probe";

const probeSchema = z.object({ key: z.string().regex(/^probe:[A-Za-z0-9_-]{8,64}$/, "must be probe: and 8-64 letters, digits, _ or -") });

export const probeRoutes = newApp().post("/", async (c) => {
  const config = gatewayConfig(c.env);
  if (!config.ORIGIN_SECRET) throw new ApiError("unavailable", "online-store probe: this gateway has no ORIGIN_SECRET to check the trainer's signature with");
  const body = await c.req.text();
  const verdict = await verifyRequest(config.ORIGIN_SECRET, { method: "POST", path: new URL(c.req.url).pathname, timestamp: c.req.header(TIMESTAMP_HEADER), signature: c.req.header(SIGNATURE_HEADER), body });
  if (!verdict.ok) throw new ApiError("unauthorized", `signature: ${verdict.reason} (the trainer's VERGE_ORIGIN_SECRET must equal the gateway's ORIGIN_SECRET)`);
  const probe = parseJson(probeSchema, body);
  const store = onlineStore(c.env);
  if (!store) throw new ApiError("unavailable", "online store: this gateway has none (no FEATURES binding)");
  const [row] = await store.getMany([probe.key]);
  return c.json({ store: config.ONLINE_STORE, row: row ?? null });
});
