// Benchmark bookkeeping: medians, machine conditions, and BENCHMARKS.md sections by marker.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "../scripts/lib/build.ts";

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function conditions(extra = ""): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, shared machine (other load possible). ${extra}`.trim();
}

/** Replaces (or appends) the section between `<!-- bench:NAME -->` markers in BENCHMARKS.md. */
export function writeSection(name: string, markdown: string): void {
  const file = join(ROOT, "BENCHMARKS.md");
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\nWritten by `npm run bench` (one suite: `npm run bench -- NAME`). Ratios are measured side by side in one run, alternating rounds, medians reported.\n";
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}
