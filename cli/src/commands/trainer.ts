// The trainer: training jobs (submit, watch with a progress bar, list, cancel), materialization
// with progress, batch predictions and response playbooks.
import { readFileSync } from "node:fs";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { followJob, type TrainerClient } from "@verge/client";
import { batchPredictionsSchema, materializeSchema, playbookSchema, submitJobSchema, type JobEvent, type JobView } from "@verge/shared";
import type { z } from "zod";
import { act } from "../action.ts";
import { emit, fields, table } from "../output.ts";

function readJson<T extends z.ZodType>(file: string, schema: T): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: cannot read it as JSON (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues[0]?.path.join(".") || "(root)"}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Follows a job to its end: a live bar on a terminal, one line per phase otherwise. */
async function watch(trainer: TrainerClient, id: string, quiet: boolean): Promise<JobView> {
  const bar = !quiet && process.stderr.isTTY ? new SingleBar({ format: "{phase} [{bar}] {percentage}% | {message}", hideCursor: true, clearOnComplete: false }) : undefined;
  bar?.start(100, 0, { phase: "queued".padEnd(11), message: "" });
  let lastPhase = "";
  const onEvent = (e: JobEvent) => {
    const p = Math.round(e.progress * 100);
    if (bar) bar.update(p, { phase: e.phase.padEnd(11), message: (e.message ?? "").slice(0, 80) });
    else if (!quiet && e.phase !== lastPhase) process.stderr.write(`${e.phase.padEnd(11)} [${"#".repeat(Math.floor(p / 5)).padEnd(20, "-")}] ${p}% ${e.message ?? ""}\n`);
    lastPhase = e.phase;
  };
  try {
    return await followJob(trainer, id, onEvent);
  } finally {
    bar?.stop();
  }
}

function report(json: boolean, view: JobView): void {
  emit(json, view, () =>
    view.phase === "succeeded"
      ? [`job ${view.id} succeeded: ${view.model} version ${view.version}${view.staged ? " (staged)" : ""}`, ...Object.entries(view.metrics ?? {}).map(([k, v]) => `  ${k.padEnd(28)} ${Number.isInteger(v) ? v : v.toFixed(4)}`)].join("\n")
      : `job ${view.id} ${view.phase}${view.error ? `: ${view.error}` : ""}`,
  );
  if (view.phase !== "succeeded") process.exitCode = 1;
}

export function trainerCommands(program: Command): void {
  const jobs = program.command("jobs").description("training jobs on the trainer");
  jobs
    .command("submit <job.json>")
    .description("submit a job and watch it (the same id again returns the existing job)")
    .option("--detach", "return once submitted")
    .action(act(async (ctx, file, o) => {
      const spec = readJson(String(file), submitJobSchema);
      const submitted = await ctx.trainer.api.submitJob({ body: spec });
      if ((o as { detach?: boolean }).detach) return emit(ctx.json, submitted, () => `${submitted.created ? "submitted" : "already submitted"}: job ${submitted.id}`);
      if (!ctx.json) process.stdout.write(`${submitted.created ? "submitted" : "already submitted"}: job ${submitted.id}\n`);
      report(ctx.json, await watch(ctx.trainer, submitted.id, ctx.json));
    }, "trainer"));
  jobs.command("watch <id>").description("follow a job with a progress bar until it ends").action(act(async (ctx, id) => {
    report(ctx.json, await watch(ctx.trainer, String(id), ctx.json));
  }, "trainer"));
  jobs.command("list", { isDefault: true }).action(act(async (ctx) => {
    const { jobs: rows } = await ctx.trainer.api.listJobs();
    emit(ctx.json, rows, () => table(["id", "model", "algorithm", "phase", "progress", "version", "created"], rows.map((j) => [j.id, j.model, j.algorithm, j.phase, `${Math.round(j.progress * 100)}%`, j.version, j.created_at])));
  }, "trainer"));
  jobs.command("show <id>").action(act(async (ctx, id) => {
    const j = await ctx.trainer.api.getJob({ params: { id: String(id) } });
    emit(ctx.json, j, () => fields([["job", j.id], ["model", j.model], ["algorithm", j.algorithm], ["phase", j.phase], ["progress", `${Math.round(j.progress * 100)}%`], ["message", j.message], ["version", j.version], ["error", j.error], ["metrics", j.metrics], ["deployment", j.deployment]]));
  }, "trainer"));
  jobs.command("cancel <id>").action(act(async (ctx, id) => {
    const j = await ctx.trainer.api.cancelJob({ params: { id: String(id) } });
    emit(ctx.json, j, () => `job ${j.id}: ${j.phase}`);
  }, "trainer"));

  program
    .command("materialize <request.json>")
    .description("push feature views' latest rows to the online store, view by view with a progress bar")
    .option("--full", "ignore the watermarks and push every entity's latest row")
    .action(act(async (ctx, file, o) => {
      const request = readJson(String(file), materializeSchema);
      const full = (o as { full?: boolean }).full === true || request.full;
      // One request per view, so progress is known between them and a failure names its view.
      const bar = !ctx.json && process.stderr.isTTY ? new SingleBar({ format: "materializing [{bar}] {value}/{total} views | {view}", hideCursor: true }) : undefined;
      bar?.start(request.views.length, 0, { view: "" });
      const views: Record<string, { written: number; watermark: number | null }> = {};
      try {
        for (const [i, view] of request.views.entries()) {
          bar?.update(i, { view: view.name });
          const r = await ctx.trainer.api.materialize({ body: { views: [view], full } });
          Object.assign(views, r.views);
          if (!bar && !ctx.json) process.stderr.write(`materialized ${i + 1}/${request.views.length} ${view.name}: ${r.views[view.name]?.written ?? 0} entities\n`);
        }
        bar?.update(request.views.length, { view: "done" });
      } finally {
        bar?.stop();
      }
      emit(ctx.json, { views }, () => table(["view", "entities written", "watermark"], Object.entries(views).map(([name, v]) => [name, v.written, v.watermark === null ? null : new Date(v.watermark).toISOString()])));
    }, "trainer"));
  program
    .command("batch-predictions <request.json>")
    .description("score known entities with a version and store the predictions for hybrid serving")
    .action(act(async (ctx, file) => {
      const r = await ctx.trainer.api.batchPredictions({ body: readJson(String(file), batchPredictionsSchema) });
      emit(ctx.json, r, () => `wrote ${r.written} predictions`);
    }, "trainer"));

  const playbooks = program.command("playbooks").description("response playbooks: which alerts start a retraining job");
  playbooks.command("list", { isDefault: true }).action(act(async (ctx) => {
    const { playbooks: all } = await ctx.trainer.api.listPlaybooks();
    emit(ctx.json, all, () => table(["model", "on", "algorithm", "lookback days"], Object.entries(all).map(([m, p]) => [m, p.on.join(","), p.job.algorithm, p.lookback_days])));
  }, "trainer"));
  playbooks.command("set <model> <playbook.json>").action(act(async (ctx, model, file) => {
    const r = await ctx.trainer.api.putPlaybook({ params: { model: String(model) }, body: readJson(String(file), playbookSchema) });
    emit(ctx.json, r, () => `playbook for ${r.model} set; alerts arrive at ${r.webhook.url}`);
  }, "trainer"));
  playbooks.command("remove <model>").action(act(async (ctx, model) => {
    await ctx.trainer.api.deletePlaybook({ params: { model: String(model) } });
    emit(ctx.json, { model, removed: true }, () => `playbook for ${model} removed`);
  }, "trainer"));
}
