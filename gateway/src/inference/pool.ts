// Balancing across one origin pool's nodes, per isolate: each node has its own circuit breaker
// and a count of requests in flight from this isolate; a call goes to the better of two nodes
// drawn at random by weight (power of two choices on outstanding requests per unit of weight),
// among those whose circuit lets a call through.
import { CircuitBreaker } from "./breaker.ts";

export interface PoolNode {
  readonly url: string;
  readonly weight: number;
  readonly breaker: CircuitBreaker;
  /** Requests from this isolate that have not finished yet. */
  outstanding: number;
}

export interface NodePoolOptions {
  failures: number;
  coolDownMs: number;
}

/**
 * The nodes of one pool and how to choose among them.
 *
 * @example
 * const pool = new NodePool([{ url: "http://gpu-1:8789", weight: 1 }, { url: "http://gpu-2:8789", weight: 2 }], { failures: 5, coolDownMs: 10_000 });
 * const node = pool.pick();                  // undefined when every circuit is open
 * const other = pool.pick(new Set([node]));  // the retry goes elsewhere
 */
export class NodePool {
  readonly nodes: readonly PoolNode[];

  constructor(nodes: readonly { url: string; weight: number }[], options: NodePoolOptions) {
    this.nodes = nodes.map((n) => ({ url: n.url.replace(/\/+$/, ""), weight: n.weight, breaker: new CircuitBreaker({ failures: options.failures, coolDownMs: options.coolDownMs }), outstanding: 0 }));
  }

  /**
   * A node to call now, or undefined when none can take a call. The chosen node's breaker has
   * admitted the call (in half-open state this claims its single probe), so the caller must
   * report the outcome to it.
   */
  pick(exclude: ReadonlySet<PoolNode> = new Set(), random: () => number = Math.random): PoolNode | undefined {
    const candidates = this.nodes.filter((n) => !exclude.has(n) && n.breaker.available);
    while (candidates.length > 0) {
      const node = chooseOfTwo(candidates, random);
      if (node.breaker.allow()) return node;
      candidates.splice(candidates.indexOf(node), 1);
    }
    return undefined;
  }

  /** Runs `call` against `node`, counting it as outstanding while it runs. */
  async track<T>(node: PoolNode, call: () => Promise<T>): Promise<T> {
    node.outstanding++;
    try {
      return await call();
    } finally {
      node.outstanding--;
    }
  }
}

/** Two distinct candidates drawn by weight; the one with less outstanding work per unit of weight. */
export function chooseOfTwo<T extends { weight: number; outstanding: number }>(candidates: readonly T[], random: () => number): T {
  if (candidates.length === 1) return candidates[0]!;
  const first = drawByWeight(candidates, random);
  const second = drawByWeight(candidates.filter((c) => c !== first), random);
  const load = (n: T) => (n.outstanding + 1) / n.weight;
  return load(second) < load(first) ? second : first;
}

function drawByWeight<T extends { weight: number }>(items: readonly T[], random: () => number): T {
  const total = items.reduce((s, n) => s + n.weight, 0);
  let r = random() * total;
  for (const item of items) {
    r -= item.weight;
    if (r < 0) return item;
  }
  return items[items.length - 1]!;
}
