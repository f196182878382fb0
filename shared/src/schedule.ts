// Cron times and retry waits for schedules, as plain functions (croner does the calendar: time
// zones, daylight saving, five- or six-field patterns).
import { Cron } from "croner";
import type { RetryPolicy } from "./schemas/schedules.ts";

function cron(pattern: string, timezone: string): Cron {
  return new Cron(pattern, { timezone, paused: true, mode: "5-or-6-parts" });
}

/** Why a pattern cannot be used in a time zone, or undefined when it can. */
export function cronProblem(pattern: string, timezone: string): string | undefined {
  try {
    if (cron(pattern, timezone).nextRun(new Date()) === null) return "never fires";
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^Cron\w*:\s*/, "").split(". Original error")[0];
  }
}

/**
 * The latest cron time at or before `now` and at or after `notBefore`, in ms; undefined when there
 * is none. A trainer that was down across several times runs only the latest one when it is back.
 */
export function latestOccurrence(pattern: string, timezone: string, now: number, notBefore: number): number | undefined {
  const [latest] = cron(pattern, timezone).previousRuns(1, new Date(now + 1));
  return latest && latest.getTime() >= notBefore ? latest.getTime() : undefined;
}

/** The next cron time after `after`, in ms, or null. */
export function nextOccurrence(pattern: string, timezone: string, after: number): number | null {
  return cron(pattern, timezone).nextRun(new Date(after))?.getTime() ?? null;
}

/** How long to wait after attempt `attempt` failed: `backoff_s · factor^(attempt−1)`, capped. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.round(Math.min(policy.max_backoff_s, policy.backoff_s * policy.factor ** Math.max(0, attempt - 1)) * 1000);
}
