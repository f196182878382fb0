// Rate-limit modes across isolates: two gateway workers (two isolates) serve the same key. Counted
// per isolate, the key gets its limit from each; counted globally (a Durable Object per key),
// from both together exactly its limit.
import { afterAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, errorOf, testStack, type TestStack } from "../../test/helpers.ts";

const LIMIT = 6;
const MIN = 60_000;
const stacks: TestStack[] = [];
afterAll(() => Promise.all(stacks.map((s) => s.dispose())));

/**
 * Sends `perIsolate` requests through each of the two isolates, interleaved and concurrent, and
 * returns how many were admitted. An attempt straddling a minute boundary proves nothing exact, so
 * it runs again with a fresh key (a short burst straddles at most one).
 */
async function admitted(stack: TestStack, perIsolate: number): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const key = `vk_modes_${attempt}_${Math.random().toString(36).slice(2)}_0123456789`;
    await stack.admin.ok("POST", "/v1/keys", { name: `modes ${attempt}`, models: ["demo"], rate_limit: LIMIT, key });
    const started = Date.now();
    const send = (isolate: number) =>
      stack.gatewayReplica(isolate, "/v1/models/demo/predict", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ unit: "u" }),
      });
    const answers = await Promise.all(Array.from({ length: perIsolate * 2 }, (_, i) => send(i % 2)));
    if (Math.floor(started / MIN) !== Math.floor(Date.now() / MIN)) {
      for (const res of answers) await res.body?.cancel();
      expect(attempt, "two attempts in a row straddled a minute boundary").toBe(0);
      continue;
    }
    let ok = 0;
    for (const res of answers) {
      if (res.status === 200) {
        ok++;
        await res.body?.cancel();
      } else {
        expect(res.status).toBe(429);
        expect((await errorOf(res)).code).toBe("rate_limited");
      }
    }
    return ok;
  }
}

async function stackWith(mode: "isolate" | "global"): Promise<TestStack> {
  const stack = await testStack({ gatewayReplicas: 1, gatewayBindings: { RATE_LIMIT_MODE: mode } });
  stacks.push(stack);
  await seedDemo(stack.admin, CLIENT_KEY);
  return stack;
}

describe("rate-limit modes across two isolates", () => {
  it("per isolate (the default): each isolate admits the key's limit, so the key gets limit × isolates", async () => {
    const stack = await stackWith("isolate");
    expect(await admitted(stack, LIMIT + 3)).toBe(2 * LIMIT);
  });

  it("global: both isolates together admit exactly the key's limit", async () => {
    const stack = await stackWith("global");
    expect(await admitted(stack, LIMIT + 3)).toBe(LIMIT);
  });
});
