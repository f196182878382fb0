// Client protection (per-key rate limits) and feedback, through the real gateway and queue.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, errorOf, testStack, waitConsumed, type TestStack } from "../../test/helpers.ts";

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
  /** The demo's labelled predictions, from the log lake joined with their labels. */
  const stored = async () => {
    const res = await stack.admin.call<string>("GET", "/v1/models/demo/logs?labels=only");
    const rows = (res.body ?? "").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { request_id: string; label: number });
    return rows.map((r) => ({ target: r.request_id, label: r.label })).sort((a, b) => a.target.localeCompare(b.target));
  };

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
    // Every label message acknowledged (a label that came before its prediction is retried until it joins).
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
