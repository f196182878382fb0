// Client protection (per-key rate limits) and feedback, through the real gateway and queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, errorOf, eventually, testStack, type TestStack } from "../../test/helpers.ts";

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
      const key = `vk_limited_${attempt}_0123456789abcdef`;
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
  const stored = async () => {
    const db = await stack.mf.getD1Database("DB", "verge-control-plane");
    return (await db.prepare("SELECT target, label FROM feedback ORDER BY target").all<{ target: string; label: number }>()).results;
  };

  it("queues single and batched labels (202) and stores each once, even when sent twice", async () => {
    const res = await send({ request_id: "r-1", label: 1 });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1 });
    const batch = { items: [{ request_id: "r-2", label: 0 }, { request_id: "rank-1", position: 3, label: 1 }] };
    expect((await send(batch)).status).toBe(202);
    expect((await send(batch)).status).toBe(202);
    // A last label, sent after every copy: the feedback queue delivers in order, so once it is
    // stored nothing sent before it is still on its way.
    expect((await send({ request_id: "zz-barrier", label: 0 })).status).toBe(202);
    await eventually(async () => ((await stored()).some((r) => r.target === "zz-barrier") ? true : undefined));
    expect(await stored()).toEqual([
      { target: "r-1", label: 1 },
      { target: "r-2", label: 0 },
      { target: "rank-1#3", label: 1 },
      { target: "zz-barrier", label: 0 },
    ]);
  });

  it("refuses bad feedback with a 400 naming the field, and unauthenticated feedback with 401", async () => {
    expect((await errorOf(await send({ request_id: "r", label: "yes" }))).message).toMatch(/label/);
    expect((await errorOf(await send({ items: [] }))).message).toMatch(/items/);
    expect((await stack.gateway("/v1/feedback", { method: "POST", body: "{}" })).status).toBe(401);
  });
});
