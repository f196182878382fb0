// What model pages share: the tab bar.
import { h } from "../dom.ts";

const TABS = [
  ["", "Versions"],
  ["/deployment", "Deployment"],
  ["/traffic", "Traffic"],
  ["/drift", "Drift"],
  ["/experiment", "Experiment"],
] as const;

export function modelHeader(model: string, active: (typeof TABS)[number][0]): HTMLElement[] {
  const base = `#/models/${encodeURIComponent(model)}`;
  return [h("h1", {}, model), h("nav", { class: "tabs" }, ...TABS.map(([path, label]) => h("a", { href: base + path, class: path === active ? "active" : "" }, label)))];
}

/** A status word with its colour. */
export const status = (s: string) => h("span", { class: `status-${s}` }, s);
