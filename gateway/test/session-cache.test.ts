// The edge session cache: least recently used out first within a byte budget, sessions in use
// never released under a run, failed loads not kept. Then the same through the real worker.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCache } from "../src/inference/session-cache.ts";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, eventually, testStack, type TestStack } from "../../test/helpers.ts";

const MiB = 1024 * 1024;

describe("sessionCache", () => {
  it("keeps five 32 MiB versions within a 96 MiB budget, least recently used out first", async () => {
    const released: string[] = [];
    const cache = sessionCache<{ key: string }>({ budgetBytes: 96 * MiB, release: (s) => released.push(s.key) });
    const call = (key: string) => cache.with(key, 32 * MiB, async () => ({ key }), async (s) => s.key);
    for (const k of ["a", "b", "c"]) await call(k);
    await call("a"); // a is now the most recent
    await call("d"); // b, the least recent, goes
    await call("e"); // then c
    await Promise.resolve();
    expect(cache.keys()).toEqual(["a", "d", "e"]);
    expect(cache.bytes()).toBe(96 * MiB);
    expect(released).toEqual(["b", "c"]);
  });

  it("loads once for concurrent callers, and never releases a session while a run uses it", async () => {
    let loads = 0;
    const released: string[] = [];
    const cache = sessionCache<{ key: string }>({ budgetBytes: 10, release: (s) => released.push(s.key) });
    let finish!: () => void;
    const running = new Promise<void>((r) => (finish = r));
    const slow = cache.with("a", 10, async () => (loads++, { key: "a" }), async () => running);
    const again = cache.with("a", 10, async () => (loads++, { key: "a" }), async (s) => s.key);
    expect(await again).toBe("a");
    expect(loads).toBe(1);
    await cache.with("b", 10, async () => ({ key: "b" }), async (s) => s.key); // evicts a, in use
    await Promise.resolve();
    expect(released).toEqual([]);
    finish();
    await slow;
    await eventually(async () => (released.length ? true : undefined), 1000, 1);
    expect(released).toEqual(["a"]);
  });

  it("does not keep a failed load", async () => {
    const cache = sessionCache<string>({ budgetBytes: 100 });
    await expect(cache.with("a", 10, () => Promise.reject(new Error("no artifact")), async (s) => s)).rejects.toThrow(/no artifact/);
    expect(cache.keys()).toEqual([]);
    expect(cache.bytes()).toBe(0);
    expect(await cache.with("a", 10, async () => "ok", async (s) => s)).toBe("ok");
  });

  it("holds at most the budget (or one larger artifact alone), and releases each evicted session once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 120 })), { maxLength: 60 }), async (budget, calls) => {
        const released = new Map<string, number>();
        const cache = sessionCache<{ id: string }>({ budgetBytes: budget, release: (s) => released.set(s.id, (released.get(s.id) ?? 0) + 1) });
        const sizes = new Map<string, number>();
        let loads = 0;
        for (const [k, size] of calls) {
          const key = `k${k}`;
          // A key's size is its artifact's: the same for every call.
          if (!sizes.has(key)) sizes.set(key, size);
          await cache.with(key, sizes.get(key)!, async () => ({ id: `${key}#${loads++}` }), async () => undefined);
          const held = cache.bytes();
          expect(held === cache.keys().reduce((s, x) => s + sizes.get(x)!, 0)).toBe(true);
          expect(held <= budget || cache.keys().length === 1).toBe(true);
        }
        await new Promise((r) => setTimeout(r, 0));
        for (const n of released.values()) expect(n).toBe(1);
        expect(released.size).toBe(loads - cache.keys().length);
      }),
    );
  });
});

describe("edge sessions in the worker", () => {
  let stack: TestStack;
  const lines: string[] = [];
  beforeAll(async () => {
    // A budget smaller than the two demo versions together: serving both must evict.
    stack = await testStack({ gatewayBindings: { EDGE_SESSION_BUDGET_BYTES: "300" }, onLogLine: (l) => lines.push(l) });
    await seedDemo(stack.admin, CLIENT_KEY);
  });
  afterAll(() => stack?.dispose());

  it("evicts the least recently used version when serving another passes the budget, and still serves both", async () => {
    const versions = (await stack.admin.ok("GET", "/v1/models/demo/versions")).versions as { version: number; sha256: string; size: number }[];
    expect(versions.reduce((s, v) => s + v.size, 0)).toBeGreaterThan(300);
    const infer = (version: number) =>
      stack.gateway(`/v2/models/demo/versions/${version}/infer`, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ inputs: [{ name: "input", shape: [1, 6], datatype: "FP32", data: [1, 2, 0, 1, 0, 0] }] }),
      });
    for (const v of [1, 2, 1]) expect((await infer(v)).status).toBe(200);
    const evicted = await eventually(async () => {
      const found = lines.filter((l) => l.includes('"edge_session_evicted"')).map((l) => JSON.parse(l.slice(l.indexOf("{"))) as { sha256: string; budget: number });
      return found.length >= 2 ? found : undefined;
    });
    const sha = (v: number) => versions.find((x) => x.version === v)!.sha256;
    expect(evicted.slice(0, 2).map((e) => e.sha256)).toEqual([sha(1), sha(2)]);
    expect(evicted[0]!.budget).toBe(300);
  });
});
