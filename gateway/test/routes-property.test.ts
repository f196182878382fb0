// Every gateway route, driven by its catalog, against the real worker in workerd: arbitrary
// bodies, headers (request id, unit, content type) and path segments answer a success or a 4xx
// in the shared shape (the protocol's under /v2), never a 5xx, and a refused request leaves no
// prediction record behind.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayApi } from "@verge/shared/api/gateway";
import { fillPath } from "@verge/shared/api/endpoint";
import { feedbackRequestSchema } from "@verge/shared";
import { isOipPath } from "@verge/shared/http";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, eventually, lakeRecords, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
});
afterAll(() => stack?.dispose());

const routeIds = Object.keys(gatewayApi) as (keyof typeof gatewayApi)[];

/** Header values fetch itself accepts (visible ASCII and inner spaces), including odd ones. */
const headerValue = fc.string({ unit: fc.constantFrom(..."ab-_.:/ 09#%é\t\"';<>{}".replace("é", "")), maxLength: 140 }).map((s) => s.trim());
const segment = fc.oneof(fc.constantFrom("demo", "nope", "constructor", "1", "2", "0", "-1", "99999999999999999999", "Demo", "a%2Fb", "%00", "..", "__proto__"), fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent));

/** Bodies near what each route takes, so the property reaches handlers, not only validation. */
const nearValid = fc.oneof(
  fc.record({ unit: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }), features: fc.option(fc.dictionary(fc.constantFrom("tenure_months", "plan", "is_member", "x", "constructor"), fc.oneof(fc.double(), fc.string({ maxLength: 5 }), fc.boolean(), fc.constant(null))), { nil: undefined }) }, { requiredKeys: [] }),
  fc.record({ instances: fc.array(fc.record({ features: fc.dictionary(fc.constantFrom("tenure_months", "plan", "toString"), fc.oneof(fc.integer(), fc.constant("pro"))) }), { maxLength: 300 }) }),
  fc.record({ candidates: fc.array(fc.record({ id: fc.string({ maxLength: 4 }), features: fc.constant({ plan: "pro" }) }), { maxLength: 5 }) }),
  fc.record({ request_id: fc.string({ maxLength: 10 }), label: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 })), model: fc.option(fc.constantFrom("demo", "nope"), { nil: undefined }) }, { requiredKeys: [] }),
  fc.record({
    id: fc.option(fc.string({ unit: "binary-ascii", maxLength: 10 }), { nil: undefined }),
    inputs: fc.array(
      fc.record({
        name: fc.constantFrom("input", "plan", "tenure_months", ""),
        shape: fc.array(fc.integer({ min: -1, max: 7 }), { maxLength: 3 }),
        datatype: fc.constantFrom("FP32", "BYTES", "BOOL", "INT64", "FP16", "nope"),
        data: fc.array(fc.oneof(fc.double(), fc.string({ maxLength: 3 }), fc.boolean(), fc.array(fc.double(), { maxLength: 6 })), { maxLength: 12 }),
      }),
      { maxLength: 3 },
    ),
  }),
);
const body = fc.oneof(
  nearValid.map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constant(""),
);

interface Sent {
  path: string;
  status: number;
  requestId: string;
  body: string;
}

describe("every gateway route under arbitrary input", () => {
  it("answers a success or a 4xx in the shared shape, never a 5xx, and logs nothing it refused", async () => {
    const sent: Sent[] = [];
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routeIds),
        fc.record({ model: segment, version: segment }),
        body,
        fc.record({ ct: fc.option(fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "application/vnd.x+json", "multipart/form-data"), { nil: undefined }), unit: fc.option(headerValue, { nil: undefined }), rid: fc.option(headerValue, { nil: undefined }), auth: fc.constantFrom("key", "none", "bad") }),
        async (id, params, text, h) => {
          const route = gatewayApi[id];
          const path = fillPath(route.path, params);
          // A unique id per request unless the header is generated, so a record can be traced to the request that made it.
          const requestId = h.rid ?? `prop-${n++}`;
          const headers: Record<string, string> = { "x-request-id": requestId };
          if (h.ct) headers["content-type"] = h.ct;
          if (h.unit !== undefined) headers["x-verge-unit"] = h.unit;
          if (h.auth === "key") headers.authorization = `Bearer ${CLIENT_KEY}`;
          if (h.auth === "bad") headers.authorization = "Bearer vk_not_a_key_0123456789abcdef";
          const res = await stack.gateway(path, route.method === "get" ? { headers } : { method: "POST", headers, body: text });
          const answer = await res.text();
          expect(res.status, `${route.method} ${path} ${text.slice(0, 200)} → ${answer.slice(0, 300)}`).toBeLessThan(500);
          if (res.status >= 400) {
            const parsed = JSON.parse(answer) as { error: unknown; code?: unknown };
            if (isOipPath(new URL(`http://x${path}`).pathname)) expect(typeof parsed.error === "string" && typeof parsed.code === "string", answer).toBe(true);
            else expect(typeof (parsed.error as { code?: unknown })?.code, answer).toBe("string");
          }
          if (id === "feedback" && res.status === 202) {
            // Accepted feedback is only ever a body the shared schema takes.
            expect(feedbackRequestSchema.safeParse(JSON.parse(text)).success).toBe(true);
          }
          sent.push({ path, status: res.status, requestId, body: text });
        },
      ),
      {
        numRuns: 400,
        // Each run is a request to workerd: report the first failure as it is, unshrunk.
        endOnFailure: true,
        // Inputs known to have answered 500 are always among those tried.
        examples: [
          ["infer", { model: "demo", version: "1" }, JSON.stringify({ id: "a\nb", inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [1, 2, 0, 1, 0, 0] }] }), { ct: "application/json", unit: undefined, rid: undefined, auth: "key" }],
          ["versionInfer", { model: "demo", version: "1" }, `{"inputs":[{"name":"input","shape":[1,6],"datatype":"FP32","data":${"[".repeat(50_000)}1${"]".repeat(50_000)}}]}`, { ct: "application/json", unit: undefined, rid: undefined, auth: "key" }],
        ],
      },
    );
    // A barrier prediction: once it is in the log lake, records sent before it are too.
    expect((await stack.predict("demo", { unit: "barrier", request_id: "prop-barrier" })).status).toBe(200);
    const records = await eventually(async () => {
      const all = await lakeRecords(stack, "demo");
      return all.some((r) => r.request_id === "prop-barrier") ? all : undefined;
    }, 60_000);
    const logged = new Set(records.map((r) => r.request_id.replace(/#\d+$/, "")));
    // A generated x-request-id can repeat (short strings do): an id that an accepted request also
    // carried is expected in the lake and says nothing about the refused one.
    const acceptedIds = new Set(sent.filter((s) => s.status < 400).map((s) => s.requestId));
    const refused = sent.filter((s) => s.status >= 400 && !/"request_id"|"id"/.test(s.body) && !acceptedIds.has(s.requestId));
    for (const s of refused) expect(logged.has(s.requestId), `${s.path} refused (${s.status}) but logged as ${s.requestId}`).toBe(false);
    // The property reached handlers, not only validation.
    expect(sent.filter((s) => s.status < 300).length).toBeGreaterThan(10);
  }, 240_000);
});
