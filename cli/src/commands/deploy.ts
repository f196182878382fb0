// Deployments (weighted variants, shadows, fallback), promotion (now or staged), rollback,
// staged rollouts and the promotion rule.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { promotionRuleSchema, putDeploymentSchema, type DeploymentView, type Rollout } from "@verge/shared";
import { act } from "../action.ts";
import { int } from "../context.ts";
import { emit, fields, table } from "../output.ts";

/** `90%` or `9000` (basis points). */
function basisPoints(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`${what}: "${text}" is not basis points (e.g. 9000) or a percentage (e.g. 90%)`);
  return m[2] ? Math.round(Number(m[1]) * 100) : Number(m[1]);
}
/** A version number or an alias name. */
const target = (t: string) => (/^\d+$/.test(t) ? { version: Number(t) } : { alias: t });

const collect = <T>(parse: (v: string) => T) => (value: string, previous: T[] = []) => [...previous, parse(value)];
const variantArg = (v: string) => {
  const [name, to, weight, ...rest] = v.split(":");
  if (!name || !to || !weight || rest.length) throw new InvalidArgumentError(`--variant: "${v}" is not NAME:VERSION_OR_ALIAS:WEIGHT (e.g. control:production:90%)`);
  return { name, ...target(to), weight: basisPoints(weight, "--variant weight") };
};
const shadowArg = (v: string) => {
  const [to, rate, ...rest] = v.split(":");
  if (!to || !rate || rest.length) throw new InvalidArgumentError(`--shadow: "${v}" is not VERSION_OR_ALIAS:RATE (e.g. 3:10%)`);
  return { ...target(to), rate: basisPoints(rate, "--shadow rate") };
};

export function deployCommands(program: Command): void {
  const deployment = program.command("deployment").description("how a model's traffic is split between versions");
  deployment
    .command("show <model>")
    .description("the deployment, its bucket allocation, and any staged rollout")
    .action(act(async (ctx, model) => {
      const params = { model: String(model) };
      const [d, r] = await Promise.all([ctx.cp.api.getDeployment({ params }), ctx.cp.api.listRollouts({ params })]);
      const running = r.rollouts.find((x) => x.status === "running");
      emit(ctx.json, { ...d, rollout: running ?? null }, () => [deploymentText(d), running ? `\n${rolloutText(running)}` : ""].join(""));
    }));
  deployment
    .command("set <model>")
    .description("set weighted variants (basis points or %), shadows and a fallback")
    .option("--variant <name:target:weight>", "a variant: target is a version number or an alias (repeat)", collect(variantArg))
    .option("--shadow <target:rate>", "mirror a share of traffic to a version or alias (repeat)", collect(shadowArg))
    .option("--fallback <variant>", "the edge variant that serves when the chosen one cannot")
    .option("--mode <mode>", "preserve (move only the buckets that must move) or reshuffle", "preserve")
    .option("--file <spec.json>", "the whole deployment as JSON instead of flags")
    .option("--if-revision <n>", "only if the deployment is still at this revision")
    .action(act(async (ctx, model, o) => {
      const opts = o as { variant?: unknown[]; shadow?: unknown[]; fallback?: string; mode: string; file?: string; ifRevision?: string };
      const raw = opts.file ? JSON.parse(readFileSync(opts.file, "utf8")) : { variants: opts.variant ?? [], shadows: opts.shadow ?? [], mode: opts.mode, ...(opts.fallback ? { fallback: opts.fallback } : {}) };
      const spec = putDeploymentSchema.safeParse(raw);
      if (!spec.success) throw new Error(`${spec.error.issues[0]?.path.join(".") || "deployment"}: ${spec.error.issues[0]?.message}`);
      const d = await ctx.cp.api.putDeployment({ params: { model: String(model) }, body: spec.data, ...(opts.ifRevision ? { headers: { "if-match": `"${opts.ifRevision}"` } } : {}) });
      emit(ctx.json, d, () => deploymentText(d));
    }));

  program
    .command("promote <model> <version>")
    .description("point an alias (production) at a version now, or through a staged rollout")
    .option("--alias <alias>", "the alias to move", "production")
    .option("--steps <bp,…>", "staged rollout: candidate traffic per step, ending at 10000 (or 100%)")
    .option("--interval <seconds>", "staged rollout: least time per step", "600")
    .option("--reason <text>", "why (audit log)")
    .action(act(async (ctx, model, version, o) => {
      const { alias, steps, interval, reason } = o as { alias: string; steps?: string; interval: string; reason?: string };
      const plan = steps ? { steps: steps.split(",").map((s) => basisPoints(s.trim(), "--steps")), interval_s: int("--interval")(interval) } : undefined;
      const r = await ctx.cp.api.promote({ params: { model: String(model) }, body: { version: int("version")(String(version)), alias, ...(plan ? { plan } : {}), ...(reason ? { reason } : {}) } });
      emit(ctx.json, r, () => (r.status === "promoted" ? `${model} ${r.alias} → version ${r.version}${r.previous === null ? "" : ` (was ${r.previous})`}` : `rolling out version ${r.rollout.candidate} of ${model}\n${rolloutText(r.rollout)}`));
    }));
  program
    .command("rollback <model>")
    .description("move an alias one step back in its history")
    .option("--alias <alias>", "the alias to move back", "production")
    .option("--reason <text>", "why (audit log)")
    .action(act(async (ctx, model, o) => {
      const { alias, reason } = o as { alias: string; reason?: string };
      const r = await ctx.cp.api.rollback({ params: { model: String(model) }, body: { alias, ...(reason ? { reason } : {}) } });
      emit(ctx.json, r, () => `${model} ${r.alias} rolled back to version ${r.version} (was ${r.previous})`);
    }));

  const rollouts = program.command("rollouts").description("staged rollouts, advanced or rolled back by the promotion rule");
  rollouts
    .command("list <model>")
    .description("the model's rollouts, newest first")
    .action(act(async (ctx, model) => {
      const { rollouts: rows } = await ctx.cp.api.listRollouts({ params: { model: String(model) } });
      emit(ctx.json, rows, () => table(["id", "status", "candidate", "baseline", "step", "traffic", "last decision", "reason"], rows.map((r) => [r.id, r.status, r.candidate, r.baseline, `${r.step + 1}/${r.steps.length}`, r.weight_bp === undefined ? "-" : `${r.weight_bp / 100}%`, r.last_decision ? `${r.last_decision.action}: ${r.last_decision.reasons.join("; ")}` : "-", r.reason])));
    }));
  rollouts
    .command("status <model>")
    .description("the running rollout: step, traffic, guardrails and the reason for its last decision")
    .action(act(async (ctx, model) => {
      const params = { model: String(model) };
      const [{ rollouts: rows }, rule] = await Promise.all([ctx.cp.api.listRollouts({ params }), ctx.cp.api.getPromotionRule({ params })]);
      const r = rows.find((x) => x.status === "running") ?? rows[0];
      if (!r) throw new Error(`${model} has no rollout: start one with \`verge promote ${model} VERSION --steps 1000,5000,10000\``);
      emit(ctx.json, { rollout: r, rule }, () => `${rolloutText(r)}\nguardrails: error rate ≤ ${rule.guardrails.max_error_rate}, p99 ≤ ${rule.guardrails.max_p99_ms} ms (judged after ${rule.guardrails.min_samples} samples)`);
    }));
  rollouts
    .command("evaluate <model>")
    .description("judge the running rollout now and apply the decision")
    .action(act(async (ctx, model) => {
      const r = await ctx.cp.api.evaluateRollout({ params: { model: String(model) } });
      emit(ctx.json, r, () => `${r.decision.action}: ${r.decision.applied}${r.decision.reasons.length ? ` (${r.decision.reasons.join("; ")})` : ""}`);
    }));
  rollouts
    .command("cancel <model>")
    .description("cancel the running rollout and restore the deployment")
    .action(act(async (ctx, model) => {
      const r = await ctx.cp.api.cancelRollout({ params: { model: String(model) } });
      emit(ctx.json, r, () => `cancelled the rollout of ${model}; the previous deployment is restored`);
    }));

  const rule = program.command("rule").description("the promotion rule that judges staged rollouts");
  rule
    .command("show <model>")
    .action(act(async (ctx, model) => {
      const r = await ctx.cp.api.getPromotionRule({ params: { model: String(model) } });
      emit(ctx.json, r, () => JSON.stringify(r, null, 2));
    }));
  rule
    .command("set <model> <rule.json>")
    .description("set the rule from a JSON file (min_samples, min_duration_s, thresholds, guardrails)")
    .action(act(async (ctx, model, file) => {
      const parsed = promotionRuleSchema.safeParse(JSON.parse(readFileSync(String(file), "utf8")));
      if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
      const r = await ctx.cp.api.putPromotionRule({ params: { model: String(model) }, body: parsed.data });
      emit(ctx.json, r, () => `promotion rule of ${model} set`);
    }));
}

function deploymentText(d: DeploymentView): string {
  const version = (name: string) => d.resolved.variants.find((v) => v.name === name)?.version;
  return [
    fields([["revision", d.revision], ["epoch", d.epoch], ["mode", d.mode], ["fallback", d.fallback], ["updated", d.updated_at]]),
    table(["variant", "target", "version", "traffic"], d.variants.map((v) => [v.name, v.alias ? `alias ${v.alias}` : `version ${v.version}`, version(v.name), `${v.weight / 100}%`])),
    d.shadows.length ? table(["shadow", "version", "rate"], d.shadows.map((s, i) => [s.alias ? `alias ${s.alias}` : `version ${s.version}`, d.resolved.shadows[i]?.version, `${s.rate / 100}%`])) : "no shadows",
  ].join("\n");
}

function rolloutText(r: Rollout): string {
  return fields([
    ["rollout", `#${r.id} (${r.status}) ${r.alias}: version ${r.baseline ?? "-"} → ${r.candidate}`],
    ["step", `${r.step + 1} of ${r.steps.length}: ${r.weight_bp === undefined ? "-" : `${r.weight_bp / 100}%`} of traffic (steps ${r.steps.map((s) => `${s / 100}%`).join(", ")}, ≥ ${r.interval_s} s each)`],
    ["step started", r.step_started_at],
    ["last decision", r.last_decision ? `${r.last_decision.action}${r.last_decision.reasons.length ? `: ${r.last_decision.reasons.join("; ")}` : ""}` : "none yet"],
    ["reason", r.reason],
  ]);
}
