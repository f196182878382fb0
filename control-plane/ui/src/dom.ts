// A few DOM helpers: elements built with text, never with HTML strings, so data cannot inject markup.

type Child = Node | string | number | null | undefined | false;

/**
 * Creates an element with attributes and children (strings become text nodes).
 *
 * @example
 * h("a", { href: "#/models" }, "Models")
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

/** A table from a header and rows of cells. */
export function table(head: string[], rows: Child[][], attrs: Record<string, string> = {}): HTMLTableElement {
  return h("table", attrs, h("thead", {}, h("tr", {}, ...head.map((x) => h("th", {}, x)))), h("tbody", {}, ...(rows.length ? rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c)))) : [h("tr", {}, h("td", { colspan: String(head.length), class: "muted" }, "none"))])));
}

export const fmt = {
  num: (x: number | null | undefined, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : Number.isInteger(x) ? String(x) : x.toFixed(digits)),
  pct: (x: number | null | undefined) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(2)}%`),
  ms: (x: number | null | undefined) => (x === null || x === undefined ? "–" : `${x.toFixed(1)} ms`),
  bp: (x: number) => `${x / 100}%`,
  time: (s: string | null | undefined) => (s ? s.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "–"),
};

/** Replaces the page's content. */
export function render(...children: Child[]): void {
  document.getElementById("main")!.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false).map((c) => (typeof c === "number" ? String(c) : c)));
}

/** Asks for confirmation and a reason in a modal; resolves with the reason, or undefined if cancelled. */
export function confirmWithReason(title: string, text: string): Promise<string | undefined> {
  const dialog = document.getElementById("confirm") as HTMLDialogElement;
  const reason = document.getElementById("confirm-reason") as HTMLInputElement;
  document.getElementById("confirm-title")!.textContent = title;
  document.getElementById("confirm-text")!.textContent = text;
  reason.value = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" && reason.value.trim() ? reason.value.trim() : undefined), { once: true });
  });
}

/** A one-line message at the top of the page (errors, results). */
export function notice(text: string, kind: "error" | "ok" = "error"): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
