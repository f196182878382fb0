// The logging path from a terminal: records as served (NDJSON), a model's log settings
// (redaction, retention, sub-shards), and dead letters (list, show, re-drive).
import type { Command } from "commander";
import { logSettingsSchema } from "@verge/shared";
import { act } from "../action.ts";
import { int } from "../context.ts";
import { emit, fields, table } from "../output.ts";

export function loggingCommands(program: Command): void {
  program
    .command("logs <model>")
    .description("records as served, from the log lake, one JSON per line (the next page's cursor goes to stderr)")
    .option("--from <time>", "window start: ISO time or epoch ms (default: an hour before --to)")
    .option("--to <time>", "window end (default: now)")
    .option("--version <n>", "one version only")
    .option("--variant <name>", "one variant only")
    .option("--labels <which>", "include (each record with its label) or only (labelled records alone)")
    .option("--limit <n>", "records in this page (at most 10000)", "1000")
    .option("--cursor <cursor>", "continue where a page stopped")
    .action(act(async (ctx, model, o) => {
      const opts = o as { from?: string; to?: string; version?: string; variant?: string; labels?: "include" | "only"; limit: string; cursor?: string };
      const query = {
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.to ? { to: opts.to } : {}),
        ...(opts.version ? { version: int("--version")(opts.version) } : {}),
        ...(opts.variant ? { variant: opts.variant } : {}),
        ...(opts.labels ? { labels: opts.labels } : {}),
        ...(opts.cursor ? { cursor: opts.cursor } : {}),
        limit: int("--limit")(opts.limit),
      };
      const res = await ctx.cp.api.logs({ params: { model: String(model) }, query });
      process.stdout.write(await res.text());
      const next = res.headers.get("x-verge-next-cursor");
      if (next) process.stderr.write(`more: --cursor ${next}\n`);
    }));

  const settings = program.command("log-settings").description("a model's log redaction, lake retention and rollup sub-shards");
  settings.command("show <model>").action(act(async (ctx, model) => {
    const s = await ctx.cp.api.getLogSettings({ params: { model: String(model) } });
    emit(ctx.json, s, () => fields([["redact", s.redact.map((r) => `${r.feature}:${r.mode}`).join(", ") || "-"], ["retention_days", s.retention_days], ["subshards", s.subshards]]));
  }));
  settings
    .command("set <model>")
    .description("replace the settings: each --redact is feature:drop or feature:hash")
    .option("--redact <feature:mode...>", "a feature to drop or hash before anything is stored")
    .option("--retention-days <n>", "days the lake keeps the model's partitions")
    .option("--subshards <n>", "rollup shards per day, for a hot model")
    .action(act(async (ctx, model, o) => {
      const opts = o as { redact?: string[]; retentionDays?: string; subshards?: string };
      const raw = {
        redact: (opts.redact ?? []).map((r) => {
          const at = r.lastIndexOf(":");
          return { feature: r.slice(0, at), mode: r.slice(at + 1) };
        }),
        ...(opts.retentionDays ? { retention_days: Number(opts.retentionDays) } : {}),
        ...(opts.subshards ? { subshards: Number(opts.subshards) } : {}),
      };
      const parsed = logSettingsSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`--${String(parsed.error.issues[0]?.path[0] ?? "").replace(/_/g, "-")}: ${parsed.error.issues[0]?.message}`);
      const s = await ctx.cp.api.putLogSettings({ params: { model: String(model) }, body: parsed.data });
      emit(ctx.json, s, () => fields([["redact", s.redact.map((r) => `${r.feature}:${r.mode}`).join(", ") || "-"], ["retention_days", s.retention_days], ["subshards", s.subshards]]));
    }));

  const dead = program.command("dead-letters").description("batches the log and feedback consumers could not count: list, show, re-drive");
  dead
    .command("list")
    .option("--queue <queue>", "prediction-logs or feedback")
    .option("--status <status>", "dead or redriven")
    .action(act(async (ctx, o) => {
      const opts = o as { queue?: "prediction-logs" | "feedback"; status?: "dead" | "redriven" };
      const r = await ctx.cp.api.listDeadLetters({ query: { ...(opts.queue ? { queue: opts.queue } : {}), ...(opts.status ? { status: opts.status } : {}) } });
      emit(ctx.json, r, () =>
        [
          table(["id", "queue", "messages", "status", "received", "reason"], r.dead_letters.map((d) => [d.id, d.queue, d.messages, d.status, d.received_at, d.reason])),
          `${r.health.dead_batches} dead; ${r.health.spill_pending_objects} spilled object(s) waiting, ${r.health.spill_reingested_records} spilled record(s) re-ingested`,
        ].join("\n"),
      );
    }));
  dead.command("show <id>").action(act(async (ctx, id) => {
    const d = await ctx.cp.api.getDeadLetter({ params: { id: String(id) } });
    emit(ctx.json, d, () => [fields([["id", d.id], ["queue", d.queue], ["status", d.status], ["reason", d.reason], ["messages", d.messages]]), ...d.bodies.map((b) => JSON.stringify(b))].join("\n"));
  }));
  dead
    .command("redrive <id>")
    .description("send the batch back to its queue (safe to repeat: everything counts once)")
    .action(act(async (ctx, id) => {
      const d = await ctx.cp.api.redriveDeadLetter({ params: { id: String(id) } });
      emit(ctx.json, d, () => `re-drove ${d.sent} message(s) of ${d.id} to ${d.queue}`);
    }));
}
