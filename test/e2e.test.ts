// End to end across both workers: register two real ONNX versions, deploy 50/50, predict, and
// count every prediction exactly once in the rollups once the queue drains.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoExpected } from "../scripts/lib/demo.ts";
import { seedDemo } from "../scripts/lib/demo.ts";
import { CLIENT_KEY, testStack, type TestStack } from "./helpers.ts";
import { countedTotal, settledAt } from "./drain.ts";

let stack: TestStack;

beforeAll(async () => {
  stack = await testStack();
  await seedDemo(stack.admin, CLIENT_KEY);
});
afterAll(() => stack?.dispose());

describe("demo model, 50/50 over two real versions", () => {
  const N = 2000;
  const seen = new Map<string, { variant: string; version: number }>();

  it("splits 2,000 distinct units 50% ± 3% and matches each model's math to 1e-5", async () => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const unit = `user-${i + j}`;
          const features = { tenure_months: (i + j) % 48, sessions_7d: (i + j) % 9, is_member: (i + j) % 3 === 0, plan: ["free", "pro", "team"][(i + j) % 3]! };
          const res = await stack.predict("demo", { unit, features });
          expect(res.status).toBe(200);
          const body = (await res.json()) as { variant: string; version: number; outputs: { probability: number }; request_id: string };
          expect(res.headers.get("x-verge-variant")).toBe(body.variant);
          expect(res.headers.get("x-verge-model-version")).toBe(String(body.version));
          expect(res.headers.get("x-request-id")).toBe(body.request_id);
          expect(res.headers.get("server-timing")).toMatch(/total;dur=/);
          const kind = body.variant === "control" ? "lr" : "mlp";
          expect(body.outputs.probability).toBeCloseTo(demoExpected(kind, features), 5);
          seen.set(unit, { variant: body.variant, version: body.version });
          return body.variant;
        }),
      );
      for (const v of batch) counts[v] = (counts[v] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(["control", "treatment"]);
    expect(counts.control! / N).toBeGreaterThan(0.47);
    expect(counts.control! / N).toBeLessThan(0.53);
  });

  it("gives a repeated unit the same variant every time", async () => {
    for (const unit of ["user-1", "user-77", "user-1999"]) {
      for (let k = 0; k < 5; k++) {
        const res = await stack.predict("demo", { unit });
        const body = (await res.json()) as { variant: string };
        expect(body.variant).toBe(seen.get(unit)!.variant);
      }
    }
  });

  it("counts every prediction exactly once in the rollups once the queue drains", async () => {
    const expected = N + 15;
    // Reached, then a barrier through the same queue: nothing sent before it is still on its way.
    expect(await settledAt(stack, () => countedTotal(stack, "demo"), expected)).toBe(expected);
    const m = await stack.admin.ok("GET", "/v1/models/demo/metrics");
    expect(m.total).toBe(expected);
    expect(m.series.reduce((s, r) => s + r.errors, 0)).toBe(0);
    const byVariant = Object.fromEntries(["control", "treatment"].map((v) => [v, m.series.filter((s) => s.variant === v).reduce((t, s) => t + s.count, 0)]));
    const sent = { control: 0, treatment: 0 } as Record<string, number>;
    for (const { variant } of seen.values()) sent[variant]!++;
    for (const unit of ["user-1", "user-77", "user-1999"]) sent[seen.get(unit)!.variant]! += 5;
    expect(byVariant).toEqual(sent);
  });
});
