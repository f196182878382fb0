// The dashboard: sign in with a token, then models, deployments, traffic, drift, experiments,
// alerts and the audit log, from the control plane's own API through the typed client.
import { clearCharts } from "./charts.ts";
import { h, notice, render } from "./dom.ts";
import { alertsPage } from "./pages/alerts.ts";
import { auditPage } from "./pages/audit.ts";
import { deploymentPage } from "./pages/deployment.ts";
import { driftPage } from "./pages/drift.ts";
import { experimentPage } from "./pages/experiment.ts";
import { modelPage, modelsPage } from "./pages/models.ts";
import { trafficPage } from "./pages/traffic.ts";
import { resume, session, signIn, signOut, type Session } from "./session.ts";
import "./style.css";

type Page = (s: Session, params: string[], query: URLSearchParams) => Promise<void>;
const ROUTES: [RegExp, Page][] = [
  [/^\/models$/, modelsPage],
  [/^\/models\/([^/]+)$/, modelPage],
  [/^\/models\/([^/]+)\/deployment$/, deploymentPage],
  [/^\/models\/([^/]+)\/traffic$/, trafficPage],
  [/^\/models\/([^/]+)\/drift$/, driftPage],
  [/^\/models\/([^/]+)\/experiment$/, experimentPage],
  [/^\/alerts$/, alertsPage],
  [/^\/audit$/, auditPage],
];

function signInPage(message?: string): void {
  const input = h("input", { type: "password", id: "token", placeholder: "admin-API token", autocomplete: "off", required: true });
  const form = h("form", { id: "signin", class: "card" }, h("h2", {}, "Sign in"), h("p", { class: "muted" }, "With an admin-API token (viewer, operator or admin). It is kept for this tab only."), input, h("button", { type: "submit" }, "Sign in"), message ? notice(message) : null);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await signIn(input.value.trim());
      if (!location.hash || location.hash === "#/signin") location.hash = "#/models";
      await route();
    } catch (err) {
      signInPage((err as Error).message);
    }
  });
  document.getElementById("nav")!.replaceChildren();
  document.getElementById("who")!.replaceChildren();
  render(form);
}

function chrome(s: Session): void {
  const link = (href: string, text: string) => h("a", { href, class: location.hash.startsWith(href) ? "active" : "" }, text);
  document.getElementById("nav")!.replaceChildren(link("#/models", "Models"), link("#/alerts", "Alerts"), link("#/audit", "Audit log"));
  const out = h("button", { class: "link", id: "signout" }, "Sign out");
  out.addEventListener("click", () => {
    signOut();
    signInPage();
  });
  document.getElementById("who")!.replaceChildren(h("span", { id: "role", "data-role": s.me.role }, `${s.me.actor} · ${s.me.role}`), out);
}

async function route(): Promise<void> {
  const s = session() ?? (await resume());
  if (!s) return signInPage();
  chrome(s);
  clearCharts();
  const [path, qs] = (location.hash.slice(1) || "/models").split("?");
  for (const [pattern, page] of ROUTES) {
    const m = pattern.exec(path!);
    if (!m) continue;
    document.body.dataset.page = "loading";
    try {
      await page(s, m.slice(1).map(decodeURIComponent), new URLSearchParams(qs ?? ""));
    } catch (err) {
      render(notice((err as Error).message));
    }
    document.body.dataset.page = "ready";
    return;
  }
  location.hash = "#/models";
}

window.addEventListener("hashchange", () => void route());
void route();
