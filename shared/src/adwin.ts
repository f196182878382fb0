// ADWIN (ADaptive WINdowing, Bifet & Gavaldà 2007) over a stream of errors: keeps the longest
// recent window whose halves cannot be told apart, and reports a change when it has to cut.
// This is the plain variant (a list instead of exponential histograms), capped in length so its
// state stays small enough to keep per model version; cuts are checked every `stride` items.

export interface AdwinState {
  window: number[];
  /** Items seen since the last check. */
  pending: number;
  /** Items ever added (absent in states saved before it was kept). */
  seen?: number;
}

export interface AdwinOptions {
  /** Confidence: lower means fewer false alarms and slower detection. */
  delta?: number;
  maxLength?: number;
  stride?: number;
  /** Smallest sub-window a cut may leave on either side. */
  minSide?: number;
}

export function emptyAdwin(): AdwinState {
  return { window: [], pending: 0, seen: 0 };
}

export interface AdwinChange {
  before: number;
  after: number;
  /** Items dropped from the window's old end. */
  dropped: number;
}

/** Adds values; returns the change detected (means before and after the cut), if any. */
export function adwinAdd(state: AdwinState, values: readonly number[], o: AdwinOptions = {}): AdwinChange | undefined {
  const delta = o.delta ?? 0.002;
  const maxLength = o.maxLength ?? 2000;
  const stride = o.stride ?? 16;
  const minSide = o.minSide ?? 30;
  let change: AdwinChange | undefined;
  for (const v of values) {
    state.seen = (state.seen ?? 0) + 1;
    state.window.push(v);
    if (state.window.length > maxLength) state.window.shift();
    if (++state.pending < stride) continue;
    state.pending = 0;
    const cut = findCut(state.window, delta, minSide);
    if (cut) {
      change = cut;
      state.window.splice(0, cut.dropped);
    }
  }
  return change;
}

function findCut(w: readonly number[], delta: number, minSide: number): AdwinChange | undefined {
  const n = w.length;
  if (n < 2 * minSide) return undefined;
  const total = w.reduce((s, x) => s + x, 0);
  let head = 0;
  for (let i = 0; i < n - minSide; i++) {
    head += w[i]!;
    const n0 = i + 1;
    if (n0 < minSide) continue;
    const n1 = n - n0;
    const m = 1 / (1 / n0 + 1 / n1);
    const epsilon = Math.sqrt((1 / (2 * m)) * Math.log((4 * n) / delta));
    const mu0 = head / n0;
    const mu1 = (total - head) / n1;
    if (Math.abs(mu0 - mu1) > epsilon) return { before: mu0, after: mu1, dropped: n0 };
  }
  return undefined;
}
