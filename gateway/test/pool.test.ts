// The pool balancer on its own: which node a call goes to, given circuits, exclusions, weights
// and outstanding requests.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chooseOfTwo, NodePool } from "../src/inference/pool.ts";

const nodesArb = fc.array(fc.record({ weight: fc.integer({ min: 1, max: 10 }), outstanding: fc.nat(20), open: fc.boolean(), excluded: fc.boolean() }), { minLength: 1, maxLength: 8 });

function poolOf(spec: { weight: number; outstanding: number; open: boolean }[]) {
  const pool = new NodePool(spec.map((s, i) => ({ url: `http://node-${i}`, weight: s.weight })), { failures: 1, coolDownMs: 60_000 });
  pool.nodes.forEach((n, i) => {
    n.outstanding = spec[i]!.outstanding;
    if (spec[i]!.open) n.breaker.failure();
  });
  return pool;
}

describe("origin pool balancing", () => {
  it("never picks a node whose circuit is open or that is excluded, and picks one whenever it can", () => {
    fc.assert(
      fc.property(nodesArb, fc.double({ min: 0, max: 0.999999, noNaN: true }), (spec, r) => {
        const pool = poolOf(spec);
        const exclude = new Set(pool.nodes.filter((_, i) => spec[i]!.excluded));
        const picked = pool.pick(exclude, () => r);
        const eligible = pool.nodes.filter((n, i) => !spec[i]!.open && !spec[i]!.excluded);
        if (eligible.length === 0) expect(picked).toBeUndefined();
        else expect(eligible).toContain(picked);
      }),
    );
  });

  it("of the two nodes drawn, takes the one with less outstanding work per unit of weight", () => {
    const load = (n: { weight: number; outstanding: number }) => (n.outstanding + 1) / n.weight;
    fc.assert(
      fc.property(nodesArb.filter((s) => s.length >= 2), fc.double({ min: 0, max: 0.999999, noNaN: true }), (spec, r) => {
        // With two candidates both are drawn: the lighter one must win.
        const pair = spec.slice(0, 2);
        const chosen = chooseOfTwo(pair, () => r);
        expect(load(chosen)).toBeLessThanOrEqual(Math.min(...pair.map(load)));
        // With more, the chosen one is never the single heaviest.
        const heaviest = Math.max(...spec.map(load));
        if (spec.filter((n) => load(n) === heaviest).length === 1) expect(load(chooseOfTwo(spec, () => r))).toBeLessThan(heaviest);
      }),
    );
  });

  it("sends nothing to a busy node while an idle one is there", () => {
    const pool = new NodePool([{ url: "http://a", weight: 1 }, { url: "http://b", weight: 1 }], { failures: 5, coolDownMs: 1000 });
    pool.nodes[0]!.outstanding = 8;
    for (let k = 0; k < 200; k++) expect(pool.pick()!.url).toBe("http://b");
  });

  it("spreads sequential load by weight once requests are in flight", () => {
    const pool = new NodePool([{ url: "http://a", weight: 1 }, { url: "http://b", weight: 3 }], { failures: 5, coolDownMs: 1000 });
    // 400 calls that each stay in flight: the counts follow the weights.
    for (let k = 0; k < 400; k++) pool.pick()!.outstanding++;
    const [a, b] = pool.nodes.map((n) => n.outstanding);
    expect(a! + b!).toBe(400);
    expect(b! / a!).toBeGreaterThan(2.5);
    expect(b! / a!).toBeLessThan(3.5);
  });

  it("lets one probe through a half-open circuit at a time", () => {
    const pool = new NodePool([{ url: "http://a", weight: 1 }], { failures: 1, coolDownMs: 0 });
    pool.nodes[0]!.breaker.failure();
    expect(pool.pick()).toBe(pool.nodes[0]);
    expect(pool.pick()).toBeUndefined();
    pool.nodes[0]!.breaker.success();
    expect(pool.pick()).toBe(pool.nodes[0]);
  });
});
