// Client protection (per-key rate limits) and feedback, through the real gateway and queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, errorOf, eventually, testStack, type TestStack } from "../../test/helpers.ts";

let stack: TestStack;
const LIMITED = "vk_limited_key_0123456789abcdef";
beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
  await stack.admin.ok("POST", "/v1/keys", { name: "limited", models: ["demo"], rate_limit: 5, key: LIMITED });
});
afterAll(() => stack?.dispose());

describe("rate limits", () => {
  it("answers 429 with retry-after once a key uses up its per-minute limit, other keys unaffected", async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await stack.predict("demo", { unit: "u" }, { authorization: `Bearer ${LIMITED}` });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.body?.cancel();
    }
    // A minute boundary may fall inside the loop, so at least 5 pass and at least one is refused.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses).toContain(429);
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await errorOf(limited!)).code).toBe("rate_limited");
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
    const rows = await eventually(async () => {
      const r = await stored();
      return r.length >= 3 ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await stored()).toEqual(rows);
    expect(rows).toEqual([
      { target: "r-1", label: 1 },
      { target: "r-2", label: 0 },
      { target: "rank-1#3", label: 1 },
    ]);
  });

  it("refuses bad feedback with a 400 naming the field, and unauthenticated feedback with 401", async () => {
    expect((await errorOf(await send({ request_id: "r", label: "yes" }))).message).toMatch(/label/);
    expect((await errorOf(await send({ items: [] }))).message).toMatch(/items/);
    expect((await stack.gateway("/v1/feedback", { method: "POST", body: "{}" })).status).toBe(401);
  });
});
