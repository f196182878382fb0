// Models, and one model's versions with their lineage and its aliases with their history.
import { h, render, table, fmt } from "../dom.ts";
import type { Session } from "../session.ts";
import { modelHeader } from "./common.ts";

export async function modelsPage(s: Session): Promise<void> {
  const { models } = await s.cp.api.listModels();
  render(
    h("h1", {}, "Models"),
    table(["name", "task", "created", "by", "description"], models.map((m) => [h("a", { href: `#/models/${encodeURIComponent(m.name)}` }, m.name), m.task, fmt.time(m.created_at), m.created_by, m.description ?? ""]), { id: "models" }),
  );
}

export async function modelPage(s: Session, [model]: string[]): Promise<void> {
  const params = { model: model! };
  const [m, { versions }, { aliases }] = await Promise.all([s.cp.api.getModel({ params }), s.cp.api.listVersions({ params }), s.cp.api.listAliases({ params })]);
  const histories = await Promise.all(aliases.map((a) => s.cp.api.aliasHistory({ params: { ...params, alias: a.alias } })));
  const aliasOf = (v: number) => aliases.filter((a) => a.version === v).map((a) => a.alias).join(", ");
  render(
    ...modelHeader(model!, ""),
    h("p", { class: "muted" }, `${m.task}${m.description ? ` — ${m.description}` : ""} · created ${fmt.time(m.created_at)} by ${m.created_by}`),
    h("h2", {}, "Versions"),
    table(
      ["version", "aliases", "runtime", "created", "lineage", "metrics", "sha256"],
      versions.map((v) => [
        String(v.version),
        aliasOf(v.version),
        v.runtime,
        `${fmt.time(v.created_at)} by ${v.created_by}`,
        h(
          "div",
          { class: "lineage" },
          ...[
            ["data", v.lineage.training_data],
            ["data sha256", v.lineage.training_data_sha256?.slice(0, 12)],
            ["code", v.lineage.code_version],
            ["job", v.lineage.parent_job],
            ["params", v.lineage.params ? JSON.stringify(v.lineage.params) : undefined],
          ]
            .filter(([, x]) => x)
            .map(([k, x]) => h("div", {}, h("span", { class: "muted" }, `${k}: `), h("span", { class: "mono" }, String(x)))),
        ),
        h("div", {}, ...Object.entries(v.metrics).map(([k, x]) => h("div", {}, `${k} ${fmt.num(x)}`))),
        h("span", { class: "mono" }, v.sha256.slice(0, 12)),
      ]),
      { id: "versions" },
    ),
    h("h2", {}, "Aliases"),
    ...aliases.map((a, i) =>
      h(
        "section",
        { class: "card", "data-alias": a.alias },
        h("h3", {}, `${a.alias} → version ${a.version}`),
        table(["when", "move", "from", "to", "who", "why"], histories[i]!.history.map((e) => [fmt.time(e.at), e.kind, e.from === null ? "–" : String(e.from), String(e.to), e.actor, e.reason ?? ""])),
      ),
    ),
  );
}
