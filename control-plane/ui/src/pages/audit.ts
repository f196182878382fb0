// The audit log: who did what, when, before and after.
import { h, render, table, fmt } from "../dom.ts";
import type { Session } from "../session.ts";

export async function auditPage(s: Session, _params: string[], query: URLSearchParams): Promise<void> {
  const target = query.get("target") ?? undefined;
  const page = await s.cp.api.audit({ query: { limit: 100, ...(target ? { target } : {}) } });
  const json = (x: unknown) => (x === null || x === undefined ? "" : h("span", { class: "mono" }, JSON.stringify(x)));
  render(
    h("h1", {}, "Audit log"),
    target ? h("p", { class: "muted" }, `target starts with ${target}`) : null,
    table(["id", "when", "who", "action", "target", "before", "after"], page.entries.map((e) => [String(e.id), fmt.time(e.at), e.actor, e.action, e.target, json(e.before), json(e.after)]), { id: "audit" }),
  );
}
