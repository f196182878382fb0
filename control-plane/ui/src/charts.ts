// Charts with uPlot. Every chart registers itself in `window.vergeCharts` under its name, so
// what is drawn (the very arrays handed to uPlot) can be read back, by a test or a curious user.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom.ts";

declare global {
  interface Window {
    vergeCharts: Record<string, uPlot>;
  }
}
window.vergeCharts ??= {};

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];

export interface Series {
  label: string;
  values: (number | null)[];
  dash?: boolean;
}

/** A time chart: x in epoch seconds, one line per series. */
export function timeChart(name: string, title: string, x: number[], series: Series[], o: { yLabel?: string; log?: boolean; yRange?: [number, number] } = {}): HTMLElement {
  const el = h("figure", { class: "chart", "data-chart": name }, h("figcaption", {}, title));
  const opts: uPlot.Options = {
    width: 640,
    height: 220,
    scales: { x: { time: true }, y: o.yRange ? { range: o.yRange } : o.log ? { distr: 3 } : {} },
    axes: [{}, { label: o.yLabel ?? "", size: 60 }],
    series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length]!, width: 2, points: { show: x.length < 40 }, ...(s.dash ? { dash: [6, 4] } : {}) }))],
  };
  mount(el, name, opts, [x, ...series.map((s) => s.values)]);
  return el;
}

/** Two histograms overlaid on the same bins: the reference and the current window, as shares. */
export function histogramChart(name: string, title: string, bins: string[], reference: number[], current: number[]): HTMLElement {
  const share = (xs: number[]) => {
    const total = xs.reduce((s, v) => s + v, 0);
    return xs.map((v) => (total ? v / total : 0));
  };
  const el = h("figure", { class: "chart small", "data-chart": name }, h("figcaption", {}, title));
  const bars = uPlot.paths.bars!;
  const opts: uPlot.Options = {
    width: 420,
    height: 180,
    scales: { x: { time: false, range: [-0.5, bins.length - 0.5] }, y: { range: [0, 1] } },
    axes: [{ values: (_u, ticks) => ticks.map((t) => bins[t] ?? "") , splits: () => bins.map((_, i) => i) }, { size: 50, values: (_u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) }],
    series: [
      {},
      { label: "reference", stroke: "#64748b", fill: "rgba(100,116,139,0.35)", paths: bars({ size: [0.8], align: 0 }), points: { show: false } },
      { label: "current", stroke: "#dc2626", fill: "rgba(220,38,38,0.30)", paths: bars({ size: [0.5], align: 0 }), points: { show: false } },
    ],
  };
  mount(el, name, opts, [bins.map((_, i) => i), share(reference), share(current)]);
  return el;
}

function mount(el: HTMLElement, name: string, opts: uPlot.Options, data: (number | null)[][]): void {
  window.vergeCharts[name]?.destroy();
  const chart = new uPlot(opts, data as uPlot.AlignedData, el);
  window.vergeCharts[name] = chart;
}

/** Forgets the charts of the previous page. */
export function clearCharts(): void {
  for (const [name, chart] of Object.entries(window.vergeCharts)) {
    chart.destroy();
    delete window.vergeCharts[name];
  }
}
