import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { teamDraftInterleave } from "../src/interleaving.ts";

const perms = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 30 }).chain((ids) => fc.tuple(fc.shuffledSubarray(ids, { minLength: ids.length }), fc.shuffledSubarray(ids, { minLength: ids.length })));

describe("team-draft interleaving", () => {
  it("is a permutation, teams stay balanced, and each team's picks keep its own order", () => {
    fc.assert(
      fc.property(perms, fc.func(fc.boolean()), ([a, b], coin) => {
        const out = teamDraftInterleave(a, b, coin);
        expect(out.map((p) => p.id).sort()).toEqual([...a].sort());
        const nA = out.filter((p) => p.team === "A").length;
        expect(Math.abs(nA - (out.length - nA))).toBeLessThanOrEqual(1);
        for (const [team, rank] of [["A", a], ["B", b]] as const) {
          const picks = out.filter((p) => p.team === team).map((p) => rank.indexOf(p.id));
          expect([...picks].sort((x, y) => x - y)).toEqual(picks);
        }
      }),
    );
  });

  it("matches a worked example", () => {
    // A: a b c d, B: b a d c; A wins the first coin, B the second.
    const out = teamDraftInterleave(["a", "b", "c", "d"], ["b", "a", "d", "c"], (round) => round === 0);
    expect(out).toEqual([
      { id: "a", team: "A" },
      { id: "b", team: "B" },
      { id: "d", team: "B" },
      { id: "c", team: "A" },
    ]);
  });
});
