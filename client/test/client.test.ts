// The typed client over a stand-in fetch: paths filled and encoded, queries built, answers
// parsed with the endpoint's schema (a broken contract fails loudly), errors of both shapes read.
import { describe, expect, it } from "vitest";
import { controlPlaneClient, gatewayClient, VergeError } from "../src/index.ts";

type Seen = { url: string; init: RequestInit | undefined };
function fake(status: number, body: unknown, seen: Seen[] = []) {
  return (url: string, init?: RequestInit) => {
    seen.push({ url, init });
    return Promise.resolve(new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json" } }));
  };
}
const model = { name: "m", task: "regression", description: null, created_at: "2026-11-01T00:00:00Z", created_by: "me" };

describe("the typed client", () => {
  it("fills and encodes path params, builds the query, sends the token", async () => {
    const seen: Seen[] = [];
    const cp = controlPlaneClient({ baseUrl: "http://cp", token: "t0k", fetch: fake(200, { alias: "a b", history: [] }, seen) });
    await cp.api.aliasHistory({ params: { model: "m", alias: "a b" } });
    expect(seen[0]!.url).toBe("http://cp/v1/models/m/aliases/a%20b/history");
    expect((seen[0]!.init!.headers as Record<string, string>).authorization).toBe("Bearer t0k");
    const metrics = controlPlaneClient({ baseUrl: "http://cp", fetch: fake(200, { model: "m", window: { from: "a", to: "b" }, series: [], input_issues: [], total: 0 }, seen) });
    await metrics.api.metrics({ params: { model: "m" }, query: { step: "hour", from: 5 } });
    expect(seen[1]!.url).toBe("http://cp/v1/models/m/metrics?step=hour&from=5");
  });

  it("parses answers with the endpoint's schema, and refuses one that breaks it", async () => {
    const ok = controlPlaneClient({ fetch: fake(200, { models: [model] }) });
    expect((await ok.api.listModels()).models[0]!.name).toBe("m");
    expect((await ok.ok("GET", "/v1/models")).models).toHaveLength(1);
    const broken = controlPlaneClient({ fetch: fake(200, { models: [{ ...model, task: "astrology" }] }) });
    const err = await broken.api.listModels().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VergeError);
    expect((err as VergeError).message).toMatch(/breaks its contract at models\.0\.task/);
  });

  it("reads the shared error shape and the Open Inference Protocol's", async () => {
    const cp = controlPlaneClient({ fetch: fake(403, { error: { code: "forbidden", message: "this route needs the operator role" } }) });
    await expect(cp.api.rollback({ params: { model: "m" }, body: {} })).rejects.toMatchObject({ status: 403, code: "forbidden", message: "POST /v1/models/m/rollback → 403 forbidden: this route needs the operator role" });
    const gw = gatewayClient({ fetch: fake(404, { error: "model \"x\" does not exist", code: "not_found" }) });
    await expect(gw.api.modelMetadata({ params: { model: "x" } })).rejects.toMatchObject({ status: 404, code: "not_found" });
    const down = controlPlaneClient({ baseUrl: "http://cp", fetch: () => Promise.reject(new Error("ECONNREFUSED")) });
    await expect(down.api.listModels()).rejects.toMatchObject({ status: 0, code: "unreachable" });
  });
});
