// Client protection (per-key rate limits) and feedback, through the real gateway and queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, errorOf, lakeRecords, testStack, waitConsumed, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
});
afterAll(() => stack?.dispose());

describe("rate limits", () => {
  it("lets exactly the limit through in a minute, then answers 429 with retry-after; other keys unaffected", async () => {
    const MIN = 60_000;
    // The limiter counts per one-minute window. An attempt that straddles a minute boundary proves
    // nothing exact, so it is run again with a fresh key; a short loop straddles at most one.
    for (let attempt = 0; ; attempt++) {
      const key = `vk_limited_${attempt}_0123456789abcdefghij`;
      await stack.admin.ok("POST", "/v1/keys", { name: `limited ${attempt}`, models: ["demo"], rate_limit: 5, key });
      const startedAt = Date.now();
      const answers: Response[] = [];
      for (let i = 0; i < 8; i++) answers.push(await stack.predict("demo", { unit: "u" }, { authorization: `Bearer ${key}` }));
      const endedAt = Date.now();
      if (Math.floor(startedAt / MIN) !== Math.floor(endedAt / MIN)) {
        for (const res of answers) await res.body?.cancel();
        expect(attempt, "two attempts in a row straddled a minute boundary").toBe(0);
        continue;
      }
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      const windowEnd = (Math.floor(startedAt / MIN) + 1) * MIN;
      for (const res of answers.slice(5)) {
        const retryAfter = Number(res.headers.get("retry-after"));
        expect(retryAfter).toBeGreaterThanOrEqual(Math.floor((windowEnd - endedAt) / 1000));
        expect(retryAfter).toBeLessThanOrEqual(Math.ceil((windowEnd - startedAt) / 1000));
        expect((await errorOf(res)).code).toBe("rate_limited");
      }
      for (const res of answers.slice(0, 5)) await res.body?.cancel();
      break;
    }
    expect((await stack.predict("demo", { unit: "u" })).status).toBe(200);
  });
});

describe("feedback", () => {
  const send = (body: unknown) =>
    stack.gateway("/v1/feedback", { method: "POST", headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  /** The demo's labelled predictions, from the log lake joined with their labels. */
  const stored = async () =>
    (await lakeRecords(stack, "demo", { labels: "only" })).map((r) => ({ target: r.request_id, label: r.label })).sort((a, b) => a.target.localeCompare(b.target));

  it("queues single and batched labels (202) and stores each once, even when sent twice", async () => {
    // Labels join predictions: make them first (one multi-instance, so positions name rows).
    expect((await stack.predict("demo", { unit: "f", request_id: "r-1" })).status).toBe(200);
    expect((await stack.predict("demo", { unit: "f", request_id: "r-2" })).status).toBe(200);
    expect((await stack.predict("demo", { unit: "f", request_id: "multi-1", instances: [{}, {}, {}, {}] })).status).toBe(200);
    const res = await send({ request_id: "r-1", label: 1 });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1 });
    const batch = { items: [{ request_id: "r-2", label: 0 }, { request_id: "multi-1", position: 3, label: 1 }] };
    expect((await send(batch)).status).toBe(202);
    expect((await send(batch)).status).toBe(202);
    // Every label message acknowledged (a label that came before its prediction is retried until
    // it joins, so a barrier label could overtake it: the consumer's own count is the condition).
    await waitConsumed(stack, "verge-feedback", 5);
    expect(await stored()).toEqual([
      { target: "multi-1#3", label: 1 },
      { target: "r-1", label: 1 },
      { target: "r-2", label: 0 },
    ]);
  });

  it("refuses bad feedback with a 400 naming the field, and unauthenticated feedback with 401", async () => {
    expect((await errorOf(await send({ request_id: "r", label: "yes" }))).message).toMatch(/label/);
    expect((await errorOf(await send({ items: [] }))).message).toMatch(/items/);
    expect((await stack.gateway("/v1/feedback", { method: "POST", body: "{}" })).status).toBe(401);
  });
});
