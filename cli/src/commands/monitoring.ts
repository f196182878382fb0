// Reports: metrics over time, drift per feature, the experiment, alerts and their webhooks.
import type { Command } from "commander";
import { driftThresholdsSchema, wilsonInterval } from "@verge/shared";
import { act } from "../action.ts";
import { int } from "../context.ts";
import { emit, fields, ms, pct, table } from "../output.ts";

const window = (cmd: Command) => cmd.option("--from <time>", "window start: ISO time or epoch ms (default: an hour before --to)").option("--to <time>", "window end (default: now)");
const windowOf = (o: { from?: string; to?: string }) => ({ ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) });

export function monitoringCommands(program: Command): void {
  window(program.command("metrics <model>").description("traffic, errors and latency per version and variant (with --step, over time)"))
    .option("--step <step>", "minute, hour or day: a time series")
    .action(act(async (ctx, model, o) => {
      const opts = o as { from?: string; to?: string; step?: "minute" | "hour" | "day" };
      const m = await ctx.cp.api.metrics({ params: { model: String(model) }, query: { ...windowOf(opts), ...(opts.step ? { step: opts.step } : {}) } });
      const row = (r: (typeof m.series)[number]) => [r.version, r.variant, r.shadow ? "yes" : "", r.count, r.errors, pct(r.error_rate), ms(r.latency_ms.p50), ms(r.latency_ms.p99)];
      emit(ctx.json, m, () =>
        [
          `${m.model}: ${m.total} predictions from ${m.window.from} to ${m.window.to}`,
          table(["version", "variant", "shadow", "count", "errors", "error rate", "p50", "p99"], m.series.map(row)),
          ...(m.timeseries ? ["", table(["t", "version", "variant", "shadow", "count", "errors", "error rate", "p50", "p99"], m.timeseries.map((p) => [p.t, ...row(p)]))] : []),
        ].join("\n"),
      );
    }));

  window(program.command("drift <model>").description("drift per feature and for the prediction: PSI, JS, KS or χ², against each version's reference"))
    .option("--version <n>", "one version only")
    .action(act(async (ctx, model, o) => {
      const opts = o as { from?: string; to?: string; version?: string };
      const d = await ctx.cp.api.drift({ params: { model: String(model) }, query: { ...windowOf(opts), ...(opts.version ? { version: int("--version")(opts.version) } : {}) } });
      emit(ctx.json, d, () =>
        [
          `thresholds: PSI warn ${d.thresholds.psi_warn}, alert ${d.thresholds.psi_alert}; JS warn ${d.thresholds.js_warn}; p < ${d.thresholds.p_value}; at least ${d.thresholds.min_samples} samples`,
          ...d.versions.map((v) =>
            [
              `\nversion ${v.version}: ${v.status}${v.alerts.length ? ` (alerting: ${v.alerts.join(", ")})` : ""}${v.has_reference ? "" : " — no reference histograms"}`,
              table(["feature", "kind", "samples", "defaulted", "PSI", "JS", "test", "p", "status"], [...v.features, ...(v.prediction ? [v.prediction] : [])].map((f) => [f.feature, f.kind, f.samples, f.defaulted, f.psi, f.js, f.test.name, f.test.p_value, f.status])),
            ].join("\n"),
          ),
        ].join("\n"),
      );
    }));

  const thresholds = program.command("thresholds").description("a model's drift thresholds");
  thresholds.command("show <model>").action(act(async (ctx, model) => {
    const t = await ctx.cp.api.getDriftThresholds({ params: { model: String(model) } });
    emit(ctx.json, t, () => fields(Object.entries(t)));
  }));
  thresholds
    .command("set <model>")
    .description("set any of the thresholds (the rest keep their defaults)")
    .option("--psi-warn <x>")
    .option("--psi-alert <x>")
    .option("--js-warn <x>")
    .option("--p-value <x>")
    .option("--min-samples <n>")
    .action(act(async (ctx, model, o) => {
      const opts = o as Record<string, string | undefined>;
      const raw = Object.fromEntries(Object.entries({ psi_warn: opts.psiWarn, psi_alert: opts.psiAlert, js_warn: opts.jsWarn, p_value: opts.pValue, min_samples: opts.minSamples }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Number(v)]));
      const parsed = driftThresholdsSchema.safeParse(raw);
      if (!parsed.success) throw new Error(`--${String(parsed.error.issues[0]?.path[0] ?? "").replace(/_/g, "-")}: ${parsed.error.issues[0]?.message}`);
      const t = await ctx.cp.api.putDriftThresholds({ params: { model: String(model) }, body: parsed.data });
      emit(ctx.json, t, () => fields(Object.entries(t)));
    }));

  window(program.command("experiment <model>").description("per-variant results with 95% intervals, the sequential test, sample ratio and sample size"))
    .option("--mde <x>", "minimum detectable effect (absolute)", "0.01")
    .action(act(async (ctx, model, o) => {
      const opts = o as { from?: string; to?: string; mde: string };
      const e = await ctx.cp.api.experiment({ params: { model: String(model) }, query: { ...windowOf(opts), mde: Number(opts.mde) } });
      const interval = (k: number, n: number) => {
        const w = wilsonInterval(k, n);
        return w ? `${pct(k / n)} [${pct(w.low)}, ${pct(w.high)}]` : "-";
      };
      emit(ctx.json, e, () =>
        [
          e.sample_ratio_mismatch.mismatch ? `SAMPLE RATIO MISMATCH (p = ${e.sample_ratio_mismatch.p_value}): the split is broken; do not trust these results` : `sample ratio: ok (p = ${e.sample_ratio_mismatch.p_value?.toPrecision(3) ?? "-"})`,
          table(
            ["variant", "weight", "samples", "error rate [95%]", "p99", "labels", "positive rate [95%]", "accuracy", "AUC", "guardrails"],
            e.variants.map((v) => [v.name, `${v.weight_bp / 100}%`, v.samples, interval(v.errors, v.samples), ms(v.latency_ms.p99), v.labels.n, v.labels.positive_rate === null ? "-" : interval(Math.round(v.labels.positive_rate * v.labels.n), v.labels.n), v.labels.accuracy, v.labels.auc, `${v.guardrails.error_rate}/${v.guardrails.p99}`]),
          ),
          table(["variant", "vs", "error rate effect", "p (mSPRT)", "positive rate effect", "p (mSPRT)", "significant"], e.sequential_test.comparisons.map((c) => [c.variant, c.against, c.error_rate.effect, c.error_rate.p_value, c.positive_rate?.effect, c.positive_rate?.p_value, c.significant ? "yes" : "no"])),
          `sample size: ${e.sample_size.per_arm ?? "-"} per arm for an effect of ${e.sample_size.mde} (α ${e.sample_size.alpha}, power ${e.sample_size.power}); smallest arm has ${Math.min(...e.variants.map((v) => v.samples))}`,
        ].join("\n"),
      );
    }));

  const alerts = program.command("alerts").description("alerts raised by the monitoring sweep");
  alerts
    .command("list", { isDefault: true })
    .option("--status <status>", "open, acknowledged or resolved")
    .option("--model <model>")
    .option("--limit <n>", "at most this many", "100")
    .action(act(async (ctx, o) => {
      const opts = o as { status?: "open" | "acknowledged" | "resolved"; model?: string; limit: string };
      const { alerts: rows } = await ctx.cp.api.listAlerts({ query: { ...(opts.status ? { status: opts.status } : {}), ...(opts.model ? { model: opts.model } : {}), limit: int("--limit")(opts.limit) } });
      emit(ctx.json, rows, () => table(["id", "status", "model", "version", "kind", "subject", "opened", "last seen", "acked by"], rows.map((a) => [a.id, a.status, a.model, a.version, a.kind, a.subject, a.opened_at, a.last_seen_at, a.acked_by])));
    }));
  alerts.command("ack <id>").description("acknowledge an open alert").action(act(async (ctx, id) => {
    const r = await ctx.cp.api.ackAlert({ params: { id: int("id")(String(id)) } });
    emit(ctx.json, r, () => `alert ${r.id} acknowledged`);
  }));

  const webhooks = program.command("webhooks").description("where alerts are delivered (signed)");
  webhooks.command("list", { isDefault: true }).action(act(async (ctx) => {
    const { webhooks: rows } = await ctx.cp.api.listWebhooks();
    emit(ctx.json, rows, () => table(["id", "url", "created"], rows.map((w) => [w.id, w.url, w.created_at])));
  }));
  webhooks.command("create <url>").description("register a webhook (its signing secret is shown once)").action(act(async (ctx, url) => {
    const w = await ctx.cp.api.createWebhook({ body: { url: String(url) } });
    emit(ctx.json, w, () => `webhook ${w.id} → ${w.url}\nsigning secret (shown once): ${w.secret}`);
  }));
  webhooks.command("revoke <id>").action(act(async (ctx, id) => {
    await ctx.cp.api.revokeWebhook({ params: { id: String(id) } });
    emit(ctx.json, { id, revoked: true }, () => `webhook ${id} revoked`);
  }));
}
