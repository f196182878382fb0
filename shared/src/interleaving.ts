// Team-draft interleaving (Radlinski et al., 2008): two rankers take turns picking their best
// not-yet-picked item; the team with fewer picks goes next, a coin decides ties. Clicks on a
// position are credited to the team that placed it.

export interface Pick {
  id: string;
  team: "A" | "B";
}

/** `coin(round)` true means A picks first in that round; pass a deterministic one for stickiness. */
export function teamDraftInterleave(rankA: readonly string[], rankB: readonly string[], coin: (round: number) => boolean): Pick[] {
  const all = new Set([...rankA, ...rankB]);
  const taken = new Set<string>();
  const out: Pick[] = [];
  let a = 0;
  let b = 0;
  let ia = 0;
  let ib = 0;
  while (taken.size < all.size) {
    const aTurn = a < b || (a === b && coin(a + b));
    const [rank, start] = aTurn ? [rankA, ia] : [rankB, ib];
    let i = start;
    while (i < rank.length && taken.has(rank[i]!)) i++;
    if (i >= rank.length) {
      // This team's list is exhausted: the other team picks.
      const other = aTurn ? rankB : rankA;
      const id = other.find((x) => !taken.has(x))!;
      taken.add(id);
      out.push({ id, team: aTurn ? "B" : "A" });
      if (aTurn) b++;
      else a++;
      continue;
    }
    taken.add(rank[i]!);
    out.push({ id: rank[i]!, team: aTurn ? "A" : "B" });
    if (aTurn) {
      a++;
      ia = i + 1;
    } else {
      b++;
      ib = i + 1;
    }
  }
  return out;
}
