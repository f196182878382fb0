// `npm run job -- <command>`: submit a training job and watch it with a live progress bar, and
// manage schedules (kept by the control plane, reached through the trainer).
//   submit <job.json> [--detach]   watch <id>   status <id>   list   cancel <id>
//   schedule put <id> <schedule.json> | list | show <id> | runs <id> [--limit N] | pause <id> | resume <id> | run <id> | delete <id>   (--json for raw output)
// Reads VERGE_TRAINER_URL (default http://127.0.0.1:8789) and VERGE_TRAINER_TOKEN.
import { readFileSync } from "node:fs";
import { SingleBar } from "cli-progress";
import { createParser } from "eventsource-parser";
import type { JobEvent, JobView, ScheduleRunView, ScheduleView } from "@verge/shared";

const base = (process.env.VERGE_TRAINER_URL ?? "http://127.0.0.1:8789").replace(/\/$/, "");
const token = process.env.VERGE_TRAINER_TOKEN ?? "";

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(`${res.status}: ${json.error?.message ?? JSON.stringify(json)}`);
  return json;
}

/** Follows a job's events until it ends; resolves with its final view. */
async function watch(id: string): Promise<JobView> {
  // A live bar on a terminal; one line per phase when the output is a file or a pipe.
  const bar = process.stderr.isTTY ? new SingleBar({ format: "{phase} [{bar}] {percentage}% | {message}", hideCursor: true, clearOnComplete: false }) : undefined;
  bar?.start(100, 0, { phase: "queued".padEnd(11), message: "" });
  let lastPhase = "";
  const res = await fetch(`${base}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok || !res.body) throw new Error(`events: ${res.status} ${await res.text()}`);
  const parser = createParser({
    onEvent: (e) => {
      const event = JSON.parse(e.data) as JobEvent;
      const pct = Math.round(event.progress * 100);
      if (bar) bar.update(pct, { phase: event.phase.padEnd(11), message: (event.message ?? "").slice(0, 80) });
      else if (event.phase !== lastPhase) console.error(`${event.phase.padEnd(11)} [${"#".repeat(pct / 5).padEnd(20, "-")}] ${pct}% ${event.message ?? ""}`);
      lastPhase = event.phase;
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
  bar?.stop();
  return call<JobView>("GET", `/v1/jobs/${id}`);
}

function report(view: JobView): number {
  if (view.phase === "succeeded") {
    console.log(`job ${view.id} succeeded: ${view.model} version ${view.version}${view.staged ? " (staged)" : ""}`);
    for (const [k, v] of Object.entries(view.metrics ?? {})) console.log(`  ${k.padEnd(28)} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
    return 0;
  }
  console.error(`job ${view.id} ${view.phase}${view.error ? `: ${view.error}` : ""}`);
  return 1;
}

function runLine(r: ScheduleRunView): string {
  const what = r.error ?? (r.result === undefined ? "" : JSON.stringify(r.result));
  return `${r.occurrence}  ${r.reason.padEnd(6)} ${r.status.padEnd(10)} attempt ${r.attempt}  ${what.slice(0, 100)}`;
}

async function schedule(sub: string | undefined, args: string[]): Promise<void> {
  const json = args.includes("--json");
  const [id, file] = args.filter((a) => !a.startsWith("--"));
  const path = `/v1/schedules${id ? `/${encodeURIComponent(id)}` : ""}`;
  const show = (value: unknown, human: () => void) => (json ? console.log(JSON.stringify(value, null, 2)) : human());
  const needId = () => {
    if (!id) throw new Error(`usage: schedule ${sub} <id>`);
  };
  switch (sub) {
    case "put": {
      if (!id || !file) throw new Error("usage: schedule put <id> <schedule.json>");
      const s = await call<ScheduleView>("PUT", path, JSON.parse(readFileSync(file, "utf8")));
      return show(s, () => console.log(`schedule ${s.id} (revision ${s.revision}): ${s.cron} ${s.timezone}, next run ${s.next_run_at ?? "none (paused)"}`));
    }
    case "list": {
      const { schedules } = await call<{ schedules: ScheduleView[] }>("GET", "/v1/schedules");
      return show(schedules, () => {
        for (const s of schedules) console.log(`${s.id.padEnd(24)} ${s.task.kind.padEnd(18)} ${`${s.cron} ${s.timezone}`.padEnd(28)} ${s.paused ? "paused" : `next ${s.next_run_at}`}`);
      });
    }
    case "show":
      needId();
      return console.log(JSON.stringify(await call("GET", path), null, 2));
    case "runs": {
      needId();
      const limit = args[args.indexOf("--limit") + 1];
      const { runs } = await call<{ runs: ScheduleRunView[] }>("GET", `${path}/runs${args.includes("--limit") && limit ? `?limit=${Number(limit)}` : ""}`);
      return show(runs, () => runs.forEach((r) => console.log(runLine(r))));
    }
    case "pause":
    case "resume": {
      needId();
      const s = await call<ScheduleView>("POST", `${path}/${sub}`);
      return show(s, () => console.log(`schedule ${s.id} ${s.paused ? "paused" : `resumed, next run ${s.next_run_at}`}`));
    }
    case "run": {
      needId();
      const r = await call<ScheduleRunView>("POST", `${path}/run`);
      return show(r, () => console.log(`run of ${r.schedule} at ${r.occurrence} requested`));
    }
    case "delete":
      needId();
      await fetch(`${base}${path}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } }).then(async (res) => {
        if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
      });
      return console.log(`schedule ${id} deleted`);
    default:
      throw new Error("usage: schedule put <id> <schedule.json> | list | show <id> | runs <id> [--limit N] | pause <id> | resume <id> | run <id> | delete <id>  [--json]");
  }
}

const [command, arg, ...rest] = process.argv.slice(2);
try {
  switch (command) {
    case "submit": {
      if (!arg) throw new Error("usage: submit <job.json> [--detach]");
      const submitted = await call<{ id: string; created: boolean }>("POST", "/v1/jobs", JSON.parse(readFileSync(arg, "utf8")));
      console.log(`${submitted.created ? "submitted" : "already submitted"}: job ${submitted.id}`);
      if (!rest.includes("--detach")) process.exitCode = report(await watch(submitted.id));
      break;
    }
    case "watch":
      process.exitCode = report(await watch(arg ?? ""));
      break;
    case "status":
      console.log(JSON.stringify(await call("GET", `/v1/jobs/${arg}`), null, 2));
      break;
    case "list":
      for (const j of (await call<{ jobs: JobView[] }>("GET", "/v1/jobs")).jobs) console.log(`${j.id}  ${j.model.padEnd(20)} ${j.algorithm.padEnd(8)} ${j.phase.padEnd(11)} ${(j.progress * 100).toFixed(0)}%  ${j.created_at}`);
      break;
    case "cancel":
      console.log(JSON.stringify(await call("POST", `/v1/jobs/${arg}/cancel`), null, 2));
      break;
    case "schedule":
      await schedule(arg, rest);
      break;
    default:
      console.error("usage: npm run job -- submit <job.json> [--detach] | watch <id> | status <id> | list | cancel <id> | schedule …");
      process.exitCode = 2;
  }
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
