// Property tests for every origin route: arbitrary bodies, headers and path segments give a 4xx in
// the error shape or a success, never a 5xx, and a refused request changes nothing (no session
// loaded, no nonce remembered, no metric series minted). Over the real control plane (miniflare).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorBodySchema, signOriginRequest } from "@verge/shared";
import { loadConfig } from "../src/config.ts";
import { buildOrigin } from "../src/server.ts";
import { ADMIN_TOKEN, type TestStack } from "../../test/helpers.ts";
import { churnRegistry } from "./churn-registry.ts";

const SECRET = "origin-secret-0123456789abcdef";
let stack: TestStack;
let cpUrl: string;
beforeAll(async () => {
  ({ stack, cpUrl } = await churnRegistry([0.3]));
});
afterAll(() => stack?.dispose());

const origin = () => {
  const built = buildOrigin(loadConfig({ VERGE_CONTROL_PLANE_URL: cpUrl, VERGE_CONTROL_PLANE_TOKEN: ADMIN_TOKEN, VERGE_ORIGIN_SECRET: SECRET, VERGE_EXECUTION_PROVIDER: "cpu", VERGE_ORIGIN_MAX_BODY_BYTES: "65536" }));
  built.services.readiness.state = "ready";
  return built;
};

/** The OIP error body under /v2 (`{"error", "code"}`), the shared shape elsewhere. */
async function refusedInShape(path: string, res: Response): Promise<void> {
  const body: unknown = await res.json();
  if (path === "/v2" || path.startsWith("/v2/")) expect(body).toMatchObject({ error: expect.any(String), code: expect.any(String) });
  else expect(errorBodySchema.safeParse(body).success, JSON.stringify(body)).toBe(true);
}

const segment = fc.oneof(fc.constantFrom("churn", "1", "0", "-1", "999", "constructor", "__proto__", "a".repeat(300), "%00", "..", ""), fc.string({ maxLength: 40 }));
const routePath = fc.oneof(
  fc.constant("/v2"),
  fc.constant("/metrics"),
  fc.constant("/v2/health/live"),
  fc.constant("/v2/health/ready"),
  fc.tuple(segment, segment, fc.constantFrom("", "/ready", "/infer")).map(([m, v, tail]) => `/v2/models/${encodeURIComponent(m)}/versions/${encodeURIComponent(v)}${tail}`),
);
// Header values Request accepts (visible ASCII and spaces, trimmed by fetch anyway).
const headerValue = fc.string({ maxLength: 80, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const headers = fc.dictionary(fc.constantFrom("x-verge-timestamp", "x-verge-nonce", "x-verge-signature", "x-verge-deadline-ms", "authorization", "content-type", "x-other"), headerValue, { maxKeys: 5 });
/** A tensor whose data nests 5000 arrays deep, written as text (stringifying it would overflow here). */
const DEEP = `{"inputs":[{"name":"input","shape":[1,6],"datatype":"FP32","data":${"[".repeat(5000)}1${"]".repeat(5000)}}]}`;
const tensor = fc.record({
  name: fc.oneof(fc.constant("input"), fc.string({ maxLength: 10 })),
  shape: fc.array(fc.integer({ min: -2, max: 8 }), { maxLength: 4 }),
  datatype: fc.constantFrom("FP32", "FP64", "INT32", "INT64", "BOOL", "BYTES", "UINT8", "fp32"),
  data: fc.oneof(fc.array(fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.string({ maxLength: 4 })), { maxLength: 16 }), fc.jsonValue({ maxDepth: 3 })),
});
const body = fc.oneof(
  fc.constant(DEEP),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.record({ id: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), inputs: fc.array(tensor, { maxLength: 3 }), parameters: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }) }).map((v) => JSON.stringify(v)),
);

describe("every origin route, under arbitrary input", () => {
  it("unsigned (or wrongly signed) requests: 4xx in the error shape (health aside), never a 5xx, and nothing changes", async () => {
    const { app, services } = origin();
    await fc.assert(
      fc.asyncProperty(routePath, fc.constantFrom("GET", "POST", "PUT", "DELETE"), headers, body, async (path, method, h, b) => {
        const res = await app.request(path, { method, headers: h, ...(method === "GET" ? {} : { body: b }) });
        expect(res.status, `${method} ${path} → ${res.status}`).toBeLessThan(500);
        if (res.status >= 400) await refusedInShape(path, res);
        else expect(path.startsWith("/v2/health/"), `${method} ${path} answered ${res.status} unsigned`).toBe(true);
        expect(services.models.loaded()).toBe(0);
        expect(services.nonces.size()).toBe(0);
      }),
      { numRuns: 150 },
    );
    // No series minted by any of them.
    expect(await services.metrics.registry.getSingleMetricAsString("verge_origin_requests_total")).not.toMatch(/status=/);
  });

  it("signed requests with arbitrary path segments, headers and bodies: a success or a 4xx in the error shape, never a 5xx; only the one real version ever loads", async () => {
    const { app, services } = origin();
    const answered = new Set<number>();
    await fc.assert(
      fc.asyncProperty(routePath, fc.constantFrom("GET", "POST"), headers, body, async (path, method, h, b) => {
        // The signature headers are the gateway's; the arbitrary ones ride beside them.
        const { "x-verge-timestamp": _t, "x-verge-nonce": _n, "x-verge-signature": _s, ...extra } = h;
        const payload = method === "GET" ? "" : b;
        const sig = await signOriginRequest(SECRET, method, `http://localhost${path}`, payload);
        const res = await app.request(path, { method, headers: { ...extra, ...sig }, ...(method === "GET" ? {} : { body: payload }) });
        expect(res.status, `${method} ${path} → ${res.status}: ${await res.clone().text()}`).toBeLessThan(500);
        if (res.status >= 400) await refusedInShape(path, res);
        expect(services.models.keys().every((k) => k === "churn@1")).toBe(true);
        answered.add(res.status);
      }),
      { numRuns: 150 },
    );
    // The signature held: some answers were successes, and refusals were not all 401s.
    expect(answered.has(200)).toBe(true);
    expect([...answered].some((s) => s >= 400 && s !== 401)).toBe(true);
  });
});
