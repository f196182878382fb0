// The gateway's predict route inside workerd: responses, instances, routing without a unit,
// artifact verification, and bad input.
import diagnostics from "node:diagnostics_channel";
import type { Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "@verge/shared";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { demoArtifacts, demoExpected, demoMetadata, seedDemo } from "../../scripts/lib/demo.ts";
import { artifactKeyOf, CLIENT_KEY, errorOf, eventually, testStack, type TestStack } from "../../test/helpers.ts";
import { countedTotal, settledAt } from "../../test/drain.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
  await stack.admin.ok("POST", "/v1/models", { name: "other", task: "regression" });
  // Weights that overflow float32 on large (but valid) inputs: +∞ − ∞ = NaN.
  await stack.admin.ok("POST", "/v1/models", { name: "overflow", task: "binary_classification" });
  const big = await stack.admin.uploadVersion("overflow", logisticRegressionModel([10, -10, 0, 0, 0, 0], 0), demoMetadata("lr"));
  await stack.admin.ok("PUT", "/v1/models/overflow/deployment", { variants: [{ name: "main", version: big.version, weight: 10000 }] });
  await stack.admin.ok("POST", "/v1/keys", { name: "overflow", models: ["overflow"], key: "vk_overflow_key_0123456789abcdef" });
});
afterAll(() => stack?.dispose());

type Body = { request_id: string; variant: string; version: number; routed_by: string; outputs: unknown; degraded?: { feature: string; reason: string }[] };

describe("predict", () => {
  it("answers a request carrying only a unit, reporting defaulted features", async () => {
    const res = await stack.predict("demo", { unit: "alice" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Body;
    expect(body.routed_by).toBe("unit");
    expect(body.degraded?.map((d) => d.feature).sort()).toEqual(["is_member", "plan", "sessions_7d", "tenure_months"]);
    const kind = body.variant === "control" ? "lr" : "mlp";
    expect((body.outputs as { probability: number }).probability).toBeCloseTo(demoExpected(kind, {}), 5);
  });

  it("takes the unit from x-verge-unit and the request id from the body", async () => {
    const a = (await (await stack.predict("demo", { request_id: "r-1" }, { "x-verge-unit": "bob" })).json()) as Body;
    const b = (await (await stack.predict("demo", { unit: "bob" })).json()) as Body;
    expect(a.request_id).toBe("r-1");
    expect(a.variant).toBe(b.variant);
  });

  it("routes by request id when there is no unit, and says so", async () => {
    const body = (await (await stack.predict("demo", {})).json()) as Body;
    expect(body.routed_by).toBe("request_id");
  });

  it("answers one output per instance, in order", async () => {
    const instances = [{ features: { tenure_months: 1 } }, { features: { tenure_months: 40, plan: "team" } }, {}];
    const body = (await (await stack.predict("demo", { unit: "carol", instances })).json()) as Body;
    const outputs = body.outputs as { probability: number }[];
    expect(outputs).toHaveLength(3);
    const kind = body.variant === "control" ? "lr" : "mlp";
    instances.forEach((inst, i) => expect(outputs[i]!.probability).toBeCloseTo(demoExpected(kind, inst.features ?? {}), 5));
  });

  it("refuses an artifact whose bytes no longer match the registry's sha256", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "tampered", task: "binary_classification" });
    // Weights no other test uses, so no isolate holds a session for this artifact yet.
    const v = await stack.admin.uploadVersion("tampered", logisticRegressionModel([1, 2, 3, 4, 5, 6], 0.5), demoMetadata("lr"));
    await stack.admin.ok("PUT", "/v1/models/tampered/deployment", { variants: [{ name: "only", version: v.version, weight: 10000 }] });
    await stack.admin.ok("POST", "/v1/keys", { name: "tampered", models: ["tampered"], key: "vk_tampered_key_0123456789abcdef" });
    const r2 = await stack.mf.getR2Bucket("ARTIFACTS", "verge-control-plane");
    await r2.put(await artifactKeyOf(stack, v.sha256), demoArtifacts().mlp);
    const res = await stack.predict("tampered", { unit: "x" }, { authorization: "Bearer vk_tampered_key_0123456789abcdef" });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).message).toMatch(/sha256 mismatch/);

    // With an edge fallback in the deployment, the fallback serves instead, and says so.
    const good = await stack.admin.uploadVersion("tampered", logisticRegressionModel([6, 5, 4, 3, 2, 1], 0), demoMetadata("lr"));
    await stack.admin.ok("PUT", "/v1/models/tampered/deployment", {
      variants: [{ name: "only", version: v.version, weight: 10000 }, { name: "safe", version: good.version, weight: 0 }],
      fallback: "safe",
    });
    const fallback = await stack.predict("tampered", { unit: "x" }, { authorization: "Bearer vk_tampered_key_0123456789abcdef" });
    expect(fallback.status).toBe(200);
    expect(await fallback.json()).toMatchObject({ variant: "safe", version: good.version, fallback: { from: "only", reason: expect.stringMatching(/sha256 mismatch/) } });
  });
});

describe("bad input never hurts", () => {
  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    ["malformed JSON", () => stack.predict("demo", "{not json"), 400, /malformed JSON/],
    ["malformed JSON sent as a form", () => stack.gateway("/v1/models/demo/predict", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/x-www-form-urlencoded" }, body: "{bad" }), 400, /malformed JSON/],
    ["a wrong type", () => stack.predict("demo", { unit: 42 }), 400, /^body\.unit: /],
    ["a nested feature value", () => stack.predict("demo", { features: { plan: { tier: "pro" } } }), 400, /^body\.features\.plan/],
    ["values that overflow the model", () => stack.predict("overflow", { unit: "a", features: { tenure_months: 3e38, sessions_7d: 3e38 } }, { authorization: "Bearer vk_overflow_key_0123456789abcdef" }), 400, /non-finite/],
    ["a number beyond float32", () => stack.predict("demo", { features: { tenure_months: 1e300 } }), 400, /beyond float32 range/],
    ["a feature of the wrong type", () => stack.predict("demo", { features: { tenure_months: "long" } }), 400, /features\.tenure_months: expected number/],
    ["an unknown field", () => stack.predict("demo", { unit: "a", extra: 1 }), 400, /extra/],
    ["too many instances", () => stack.predict("demo", { instances: Array.from({ length: LIMITS.maxInstances + 1 }, () => ({})) }), 400, /instances/],
    ["a unit over the limit", () => stack.predict("demo", { unit: "u".repeat(LIMITS.maxUnitLength + 1) }), 400, /body\.unit/],
    ["a body over the limit", () => stack.predict("demo", { unit: "a", features: { plan: "x".repeat(1000) }, pad: "y".repeat(LIMITS.maxBodyBytes) }), 413, /limited to/],
    ["an unknown model", () => stack.predict("nope", { unit: "a" }, { authorization: "Bearer vk_tampered_key_0123456789abcdef" }), 404, /model "nope" does not exist/],
    ["an unknown model, asked with a key for every model", () => stack.predict("nope", { unit: "a" }), 404, /model "nope" does not exist/],
    ["a request id header with a space", () => stack.predict("demo", { unit: "a" }, { "x-request-id": "a b" }), 400, /^x-request-id: /],
    ["a request id header over the limit", () => stack.predict("demo", { unit: "a" }, { "x-request-id": "r".repeat(LIMITS.maxRequestIdLength + 1) }), 400, /^x-request-id: /],
    ["a unit header over the limit", () => stack.predict("demo", {}, { "x-verge-unit": "u".repeat(LIMITS.maxUnitLength + 1) }), 400, /^x-verge-unit: /],
    ["a model without a deployment", () => stack.predict("other", { unit: "a" }, { authorization: "Bearer vk_tampered_key_0123456789abcdef" }), 403, /may not call/],
    ["no key", () => stack.gateway("/v1/models/demo/predict", { method: "POST", body: "{}" }), 401, /client key is required/],
    ["a wrong key", () => stack.predict("demo", { unit: "a" }, { authorization: "Bearer vk_wrong" }), 401, /unknown or revoked/],
    ["a key for another model", () => stack.predict("demo", { unit: "a" }, { authorization: "Bearer vk_tampered_key_0123456789abcdef" }), 403, /may not call model "demo"/],
  ];

  for (const [name, send, status, message] of cases) {
    it(`answers ${name} with ${status} in the shared error shape`, async () => {
      const res = await send();
      expect(res.status).toBe(status);
      expect((await errorOf(res)).message).toMatch(message);
    });
  }

  it("refuses a body over the limit on a connection that stays open for the next request", async () => {
    // Which connection undici sends each request on.
    const sockets: { path: string; socket: Socket }[] = [];
    const onSend = (message: unknown) => {
      const { request, socket } = message as { request: { path: string }; socket: Socket };
      sockets.push({ path: request.path, socket });
    };
    diagnostics.subscribe("undici:client:sendHeaders", onSend);
    try {
      const refused = await stack.predict("demo", { unit: "a", pad: "y".repeat(LIMITS.maxBodyBytes) });
      expect(refused.status).toBe(413);
      await refused.text();
      const next = await stack.predict("demo", { unit: "a" });
      expect(next.status).toBe(200);
      await next.text();
    } finally {
      diagnostics.unsubscribe("undici:client:sendHeaders", onSend);
    }
    const used = sockets.filter((s) => s.path === "/v1/models/demo/predict");
    expect(used).toHaveLength(2);
    expect(used[1]!.socket).toBe(used[0]!.socket);
  });

  it("answers arbitrary JSON with a 200 or a 4xx, never a 5xx, and logs every attempt that reached the model", async () => {
    // Its own model (the demo's versions and split), so the expected count is this test's alone.
    await stack.admin.ok("POST", "/v1/models", { name: "fuzz", task: "binary_classification" });
    const { lr, mlp } = demoArtifacts();
    const a = await stack.admin.uploadVersion("fuzz", lr, demoMetadata("lr"));
    const b = await stack.admin.uploadVersion("fuzz", mlp, demoMetadata("mlp"));
    await stack.admin.ok("PUT", "/v1/models/fuzz/deployment", { variants: [{ name: "control", version: a.version, weight: 5000 }, { name: "treatment", version: b.version, weight: 5000 }] });
    await stack.admin.ok("POST", "/v1/keys", { name: "fuzz", models: ["fuzz"], key: "vk_fuzz_key_0123456789abcdefghij" });
    let logged = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }),
          fc.record({ unit: fc.string(), features: fc.dictionary(fc.constantFrom("tenure_months", "sessions_7d", "is_member", "plan", "zzz"), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }),
        ),
        async (body) => {
          const res = await stack.predict("fuzz", body, { authorization: "Bearer vk_fuzz_key_0123456789abcdefghij" });
          if (res.status === 200) logged++;
          else {
            expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
            expect(res.status).toBeLessThan(500);
            // Refused input never reached the model; an output the model could not give finitely did.
            if (/non-finite/.test((await errorOf(res)).message)) logged++;
          }
        },
      ),
      { numRuns: 200 },
    );
    // Each attempt logged once: exactly `logged`, even after a barrier through the log queue.
    expect(await settledAt(stack, () => countedTotal(stack, "fuzz"), logged)).toBe(logged);
  });
});

describe("shadows", () => {
  it("runs each sampled shadow after the response, logs it as a shadow, and never changes the response", async () => {
    await stack.admin.ok("POST", "/v1/models", { name: "shadowed", task: "binary_classification" });
    const a = await stack.admin.uploadVersion("shadowed", logisticRegressionModel([0.1, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    const b = await stack.admin.uploadVersion("shadowed", logisticRegressionModel([0.2, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    const c = await stack.admin.uploadVersion("shadowed", logisticRegressionModel([0.3, 0, 0, 0, 0, 0], 0), demoMetadata("lr"));
    await stack.admin.ok("POST", "/v1/keys", { name: "s", models: ["shadowed"], key: "vk_shadow_key_0123456789abcdefgh" });
    const send = async () => {
      const res = await stack.predict("shadowed", { unit: "same-unit", features: { tenure_months: 10 } }, { authorization: "Bearer vk_shadow_key_0123456789abcdefgh" });
      const { version, outputs } = (await res.json()) as { version: number; outputs: { probability: number } };
      return { version, outputs };
    };
    await stack.admin.ok("PUT", "/v1/models/shadowed/deployment", { variants: [{ name: "main", version: a.version, weight: 10000 }] });
    const without = await send();
    await stack.admin.ok("PUT", "/v1/models/shadowed/deployment", {
      variants: [{ name: "main", version: a.version, weight: 10000 }],
      shadows: [{ version: b.version, rate: 10000 }, { version: c.version, rate: 1 }],
    });
    const withShadows = await send();
    expect(withShadows).toEqual(without);
    const m = await eventually(async () => {
      const r = await stack.admin.ok("GET", "/v1/models/shadowed/metrics");
      return r.series.some((s) => s.shadow) ? r : undefined;
    });
    expect(m.series.filter((s) => s.shadow).map((s) => s.version)).toEqual([b.version]); // 1 bp: this unit is not sampled
  });
});
