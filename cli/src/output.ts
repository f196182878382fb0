// How the CLI speaks: tables for people, JSON for scripts, and errors in one line that name the fix.
import Table from "cli-table3";
import { VergeError } from "@verge/client";

/** Prints `data` as JSON when asked, else as the human rendering. */
export function emit(json: boolean | undefined, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** A plain table: one header row, cells as text (null and undefined as "-"). */
export function table(head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return "(none)";
  const t = new Table({ head, style: { head: [], border: [] }, chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" } });
  for (const r of rows) t.push(r.map(cell));
  return t.toString();
}

/** Key: value lines, aligned. */
export function fields(entries: [string, unknown][]): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join("\n");
}

export function cell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, "");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export const pct = (x: number | null | undefined) => (x === null || x === undefined ? "-" : `${(x * 100).toFixed(2)}%`);
export const ms = (x: number | null | undefined) => (x === null || x === undefined ? "-" : `${x.toFixed(1)} ms`);

/** The one line an error prints: what happened, then what to do about it. */
export function explain(err: unknown, where: { url: string; trainerUrl: string; trainer?: boolean; tokenSource?: string }): string {
  if (!(err instanceof VergeError)) return `error: ${(err as Error).message}`;
  const service = where.trainer ? `the trainer at ${where.trainerUrl}` : `the control plane at ${where.url}`;
  const tokenFlag = where.trainer ? "--token or VERGE_TOKEN (a control-plane token; admin for command jobs), or --trainer-token or VERGE_TRAINER_TOKEN" : "--token, VERGE_TOKEN or `verge login`";
  const urlFlag = where.trainer ? "--trainer-url or VERGE_TRAINER_URL" : "--url or VERGE_URL";
  const fix: Record<string, string> = {
    unreachable: `start it (npm start) or point ${urlFlag} at it`,
    unauthorized: where.tokenSource === "default" ? `give a token with ${tokenFlag}` : `the token is unknown or revoked: give a valid one with ${tokenFlag}`,
    forbidden: "your token's role is too low for this: ask an admin for a token with the role it needs (`verge tokens create`)",
    not_found: / \/v1\/schedules\//.test(err.message) ? "check the id (`verge schedules list`)" : "check the name (`verge models list`, `verge versions list MODEL`)",
    conflict: "it changed or exists already: read it again (`show`/`list`) and retry",
    bad_request: "fix the named field and retry",
    payload_too_large: "send less: a smaller artifact (or runtime origin) or a smaller body",
    bad_response: `${service} speaks another version of the API: update this CLI or the server`,
    rate_limited: "wait and retry",
  };
  const message = err.status === 0 ? `cannot reach ${service}` : err.message;
  const hint = fix[err.code] ?? (err.status >= 500 ? `${service} failed: see its log` : undefined);
  return `error: ${message}${hint ? ` — ${hint}` : ""}`;
}
