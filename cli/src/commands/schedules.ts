// Schedules of recurring trainer pipelines (training with its gate and deploy, materialization,
// batch predictions), kept by the control plane and run by whichever trainer claims each run.
import type { Command } from "commander";
import { putScheduleSchema, type ScheduleRunView, type ScheduleView } from "@verge/shared";
import { act } from "../action.ts";
import { int } from "../context.ts";
import { readJson } from "../input.ts";
import { cell, emit, fields, table } from "../output.ts";

/** What a schedule does, in a few words. */
function taskOf(s: ScheduleView): string {
  const { task } = s;
  if (task.kind === "train") return `train ${task.job.model} (${task.job.algorithm})`;
  if (task.kind === "materialize") return `materialize ${task.request.views.map((v) => v.name).join(", ")}`;
  const r = task.request;
  return `batch predictions ${r.model} ${r.version === undefined ? `@${r.alias}` : `v${r.version}`}`;
}

const when = (s: ScheduleView) => (s.paused ? "paused" : (s.next_run_at ?? "-"));

function showSchedule(s: ScheduleView): string {
  return fields([
    ["schedule", s.id],
    ["description", s.description],
    ["cron", `${s.cron} (${s.timezone})`],
    ["task", taskOf(s)],
    ["trigger", s.trigger ? (s.trigger.kind === "files" ? `new or changed files under ${s.trigger.path}` : `${s.trigger.min_new} new labelled predictions of ${s.trigger.model}`) : "none"],
    ["retry", `${s.retry.attempts} attempts, ${s.retry.backoff_s} s backoff ×${s.retry.factor} (at most ${s.retry.max_backoff_s} s)`],
    ["next run", when(s)],
    ["last cron run", s.last_occurrence],
    ["revision", s.revision],
    ["updated", s.updated_at],
  ]);
}

/** The outcome of a run in one cell: its error, or what it did. */
const outcome = (r: ScheduleRunView) => (r.error ?? (r.result === undefined ? "" : cell(r.result))).slice(0, 100);

export function scheduleCommands(program: Command): void {
  const schedules = program
    .command("schedules")
    .description("recurring trainer pipelines (train, materialize, batch predictions) on a cron, kept by the control plane; trainers claim and run them");
  schedules.command("list", { isDefault: true }).description("every schedule with its next run").action(act(async (ctx) => {
    const { schedules: rows } = await ctx.cp.api.listSchedules();
    emit(ctx.json, rows, () => table(["id", "task", "cron", "time zone", "next run", "last cron run"], rows.map((s) => [s.id, taskOf(s), s.cron, s.timezone, when(s), s.last_occurrence])));
  }));
  schedules
    .command("put <id> <schedule.json>")
    .description("create or replace a schedule from a file: cron (5 fields, or 6 with seconds first), timezone, task, trigger, retry (a change of cron starts from now)")
    .action(act(async (ctx, id, file) => {
      const spec = readJson(String(file), putScheduleSchema);
      const s = await ctx.cp.api.putSchedule({ params: { id: String(id) }, body: spec });
      emit(ctx.json, s, () => `schedule ${s.id} (revision ${s.revision}): ${s.cron} ${s.timezone}, next run ${s.next_run_at ?? "none (paused)"}`);
    }));
  schedules.command("show <id>").description("a schedule in full").action(act(async (ctx, id) => {
    const s = await ctx.cp.api.getSchedule({ params: { id: String(id) } });
    emit(ctx.json, s, () => showSchedule(s));
  }));
  schedules
    .command("runs <id>")
    .description("run history, newest first: status, attempts, and what each run did or why it failed")
    .option("--limit <n>", "at most this many", "50")
    .action(act(async (ctx, id, o) => {
      const { runs } = await ctx.cp.api.scheduleRuns({ params: { id: String(id) }, query: { limit: int("--limit")((o as { limit: string }).limit) } });
      emit(ctx.json, runs, () => table(["occurrence", "reason", "status", "attempt", "runner", "finished", "result or error"], runs.map((r) => [r.occurrence, r.reason, r.status, r.attempt, r.runner, r.finished_at, outcome(r)])));
    }));
  schedules.command("pause <id>").description("no new cron runs until resumed").action(act(async (ctx, id) => {
    const s = await ctx.cp.api.pauseSchedule({ params: { id: String(id) } });
    emit(ctx.json, s, () => `schedule ${s.id} paused`);
  }));
  schedules.command("resume <id>").description("run again from now (runs missed while paused are not made up)").action(act(async (ctx, id) => {
    const s = await ctx.cp.api.resumeSchedule({ params: { id: String(id) } });
    emit(ctx.json, s, () => `schedule ${s.id} resumed, next run ${s.next_run_at ?? "-"}`);
  }));
  schedules.command("run <id>").description("run now, whatever the cron and the data trigger say; a trainer claims it at its next look").action(act(async (ctx, id) => {
    const r = await ctx.cp.api.runSchedule({ params: { id: String(id) } });
    emit(ctx.json, r, () => `run of ${r.schedule} at ${r.occurrence} requested (${r.status}): follow it with \`verge schedules runs ${r.schedule}\``);
  }));
  schedules.command("delete <id>").description("delete a schedule and its run history").action(act(async (ctx, id) => {
    await ctx.cp.api.deleteSchedule({ params: { id: String(id) } });
    emit(ctx.json, { id, deleted: true }, () => `schedule ${id} deleted`);
  }));
}
