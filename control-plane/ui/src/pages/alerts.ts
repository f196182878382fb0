// Alerts, newest first, with acknowledge for operators; and the audit log.
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { h, notice, render, table, fmt } from "../dom.ts";
import type { Session } from "../session.ts";
import { status } from "./common.ts";

export async function alertsPage(s: Session, _params: string[], query: URLSearchParams): Promise<void> {
  const only = query.get("status") as "open" | "acknowledged" | "resolved" | null;
  const { alerts } = await s.cp.api.listAlerts({ query: { ...(only ? { status: only } : {}), limit: 200 } });
  const ack = (id: number) => {
    const b = h("button", { class: "secondary", "data-ack": String(id) }, "Acknowledge");
    b.addEventListener("click", async () => {
      b.setAttribute("disabled", "");
      try {
        await s.cp.api.ackAlert({ params: { id } });
        await alertsPage(s, [], query);
      } catch (err) {
        b.replaceWith(notice((err as Error).message));
      }
    });
    return b;
  };
  // The sweep's own reasons say it best; other details as name and value (numbers only).
  const detail = (d: Record<string, unknown>) => {
    const reasons = Array.isArray(d.reasons) ? d.reasons.map(String) : [];
    const numbers = Object.entries(d).filter(([k, v]) => typeof v === "number" && !reasons.some((r) => r.toLowerCase().includes(k))).map(([k, v]) => `${k} ${fmt.num(v as number)}`);
    return [...reasons, ...numbers].join(" · ");
  };
  render(
    h("h1", {}, "Alerts"),
    h("div", { class: "controls" }, ...["all", "open", "acknowledged"].map((x) => h("a", { href: x === "all" ? "#/alerts" : `#/alerts?status=${x}` }, x))),
    table(
      ["id", "status", "model", "version", "kind", "subject", "evidence", "opened", "acknowledged", ""],
      alerts.map((a) => [String(a.id), status(a.status), h("a", { href: `#/models/${encodeURIComponent(a.model)}/drift` }, a.model), a.version === null ? "–" : String(a.version), a.kind, a.subject, detail(a.details), fmt.time(a.opened_at), a.acked_by ? `${a.acked_by} ${fmt.time(a.acked_at)}` : "", a.status === "open" && s.can(api.ackAlert) ? ack(a.id) : ""]),
      { id: "alerts" },
    ),
  );
}
