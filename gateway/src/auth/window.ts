// The fixed one-minute window both rate-limit modes count in: pure, so both count alike.

export type Verdict = { ok: true } | { ok: false; retryAfterS: number };
export interface Window {
  start: number;
  count: number;
}

export const WINDOW_MS = 60_000;

/** Whether one more request fits `perMinute` in the window holding `now`, and the window after it. */
export function windowVerdict(held: Window | undefined, perMinute: number, now: number): { verdict: Verdict; window: Window } {
  const start = now - (now % WINDOW_MS);
  const w = held && held.start === start ? held : { start, count: 0 };
  if (w.count >= perMinute) return { verdict: { ok: false, retryAfterS: Math.ceil((start + WINDOW_MS - now) / 1000) }, window: w };
  return { verdict: { ok: true }, window: { start, count: w.count + 1 } };
}
