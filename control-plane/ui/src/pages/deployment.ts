// The deployment and any staged rollout (its step, guardrails and the reason for its last
// decision), with promote and roll back for operators: each asks for confirmation and a reason.
import { VergeError } from "@verge/client";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { confirmWithReason, fmt, h, notice, render, table } from "../dom.ts";
import type { Session } from "../session.ts";
import { modelHeader, status } from "./common.ts";

export async function deploymentPage(s: Session, [model]: string[], _q: URLSearchParams, message?: HTMLElement): Promise<void> {
  const params = { model: model! };
  const [dep, { rollouts }, rule, { versions }, { aliases }] = await Promise.all([
    s.cp.api.getDeployment({ params }).catch((err: unknown) => (err instanceof VergeError && err.status === 404 ? null : Promise.reject(err))),
    s.cp.api.listRollouts({ params }),
    s.cp.api.getPromotionRule({ params }),
    s.cp.api.listVersions({ params }),
    s.cp.api.listAliases({ params }),
  ]);
  const production = aliases.find((a) => a.alias === "production")?.version;
  const rollout = rollouts.find((r) => r.status === "running") ?? rollouts[0];
  const again = (text: string, kind: "ok" | "error") => deploymentPage(s, [model!], _q, notice(text, kind));

  const act = async (title: string, text: string, run: (reason: string) => Promise<string>) => {
    const reason = await confirmWithReason(title, text);
    if (!reason) return;
    try {
      await again(await run(reason), "ok");
    } catch (err) {
      await again((err as Error).message, "error");
    }
  };
  const rollback = h("button", { class: "danger", id: "rollback" }, "Roll back production");
  rollback.addEventListener("click", () =>
    act("Roll back production", `Move ${model}'s production alias one step back in its history (now version ${production ?? "–"}).`, async (reason) => {
      const r = await s.cp.api.rollback({ params, body: { alias: "production", reason } });
      return `production rolled back to version ${r.version} (was ${r.previous})`;
    }),
  );
  const pick = h("select", { id: "promote-version" }, ...versions.filter((v) => v.version !== production).map((v) => h("option", { value: String(v.version) }, `version ${v.version}`)));
  const promote = h("button", { id: "promote" }, "Promote to production");
  promote.addEventListener("click", () => {
    const version = Number((pick as HTMLSelectElement).value);
    return act("Promote to production", `Point ${model}'s production alias at version ${version}.`, async (reason) => {
      const r = await s.cp.api.promote({ params, body: { version, alias: "production", reason } });
      return r.status === "promoted" ? `production → version ${r.version}` : `rolling out version ${r.rollout.candidate}`;
    });
  });
  const cancel = h("button", { class: "secondary", id: "cancel-rollout" }, "Cancel rollout");
  cancel.addEventListener("click", () =>
    act("Cancel the rollout", "Stop the staged rollout and restore the previous deployment.", async () => {
      await s.cp.api.cancelRollout({ params });
      return "rollout cancelled; the previous deployment is restored";
    }),
  );

  const resolved = (name: string) => dep?.resolved.variants.find((v) => v.name === name)?.version;
  render(
    ...modelHeader(model!, "/deployment"),
    message ?? null,
    h("div", { class: "actions" }, s.can(api.rollback) ? rollback : null, s.can(api.promote) && pick.childElementCount ? pick : null, s.can(api.promote) && pick.childElementCount ? promote : null, s.can(api.cancelRollout) && rollout?.status === "running" ? cancel : null),
    h("p", {}, `production → version ${production ?? "–"}`),
    dep
      ? h(
          "section",
          { class: "card", id: "deployment" },
          h("h2", {}, `Deployment · revision ${dep.revision} · ${dep.mode}${dep.fallback ? ` · fallback ${dep.fallback}` : ""}`),
          table(["variant", "follows", "serves version", "traffic", "buckets"], dep.variants.map((v) => [v.name, v.alias ? `alias ${v.alias}` : `version ${v.version}`, String(resolved(v.name) ?? "–"), fmt.bp(v.weight), dep.allocation.filter((a) => a[2] === v.name).map((a) => `[${a[0]}, ${a[1]})`).join(" ")])),
          dep.shadows.length ? table(["shadow", "serves version", "rate"], dep.shadows.map((sh, i) => [sh.alias ? `alias ${sh.alias}` : `version ${sh.version}`, String(dep.resolved.shadows[i]?.version ?? "–"), fmt.bp(sh.rate)])) : h("p", { class: "muted" }, "no shadows"),
        )
      : h("p", { class: "muted" }, "no deployment"),
    rollout
      ? h(
          "section",
          { class: "card", id: "rollout" },
          h("h2", {}, `Rollout #${rollout.id} · `, status(rollout.status)),
          h("p", {}, `${rollout.alias}: version ${rollout.baseline ?? "–"} → ${rollout.candidate} · step ${rollout.step + 1} of ${rollout.steps.length} (${rollout.steps.map(fmt.bp).join(" → ")}, at least ${rollout.interval_s} s each) · since ${fmt.time(rollout.step_started_at)}`),
          h("div", { class: "progress", title: "candidate traffic" }, h("span", { style: `width:${(rollout.weight_bp ?? 0) / 100}%` })),
          h("p", { id: "last-decision" }, rollout.last_decision ? `last decision: ${rollout.last_decision.action}${rollout.last_decision.reasons.length ? ` — ${rollout.last_decision.reasons.join("; ")}` : ""}` : "no decision yet", rollout.reason ? ` · ${rollout.reason}` : ""),
          h("h3", {}, "Guardrails"),
          table(["guardrail", "limit"], [["error rate", `≤ ${fmt.pct(rule.guardrails.max_error_rate)}`], ["p99 latency", `≤ ${rule.guardrails.max_p99_ms} ms`], ["judged after", `${rule.guardrails.min_samples} samples`], ["to advance", `${rule.min_samples} samples and ${rule.min_duration_s} s per step`]]),
        )
      : h("p", { class: "muted" }, "no staged rollout"),
  );
}
