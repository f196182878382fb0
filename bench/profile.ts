// (edge, BENCH_ONLY=profile) V8's sampling CPU profiler over workerd's inspector, for a bisect
// that needs no code cut: self time by function and by package while load runs.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Profiles the first worker behind the inspector while `during` runs; self time in µs per frame, by module of `bundle`. */
export async function profileWorker(inspectorPort: number, bundle: string, during: () => Promise<void>): Promise<{ byFunction: [string, number][]; byPackage: [string, number][]; totalUs: number }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map<number, (r: unknown) => void>();
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result);
  };
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 100 });
  await call("Profiler.start");
  await during();
  const { profile } = (await call("Profiler.stop")) as { profile: Profile };
  ws.close();

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((s, i) => self.set(s, (self.get(s) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const moduleAt = bundleModuleIndex(bundle);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let totalUs = 0;
  for (const [nodeId, us] of self) {
    const f = byId.get(nodeId)!.callFrame;
    totalUs += us;
    const where = f.url ? moduleAt(f.lineNumber + 1) : "";
    fn.set(`${f.functionName || "(anonymous)"} ${where}:${f.lineNumber + 1}`, (fn.get(`${f.functionName || "(anonymous)"} ${where}:${f.lineNumber + 1}`) ?? 0) + us);
    pkg.set(where || f.functionName, (pkg.get(where || f.functionName) ?? 0) + us);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { byFunction: sorted(fn), byPackage: sorted(pkg), totalUs };
}

/** esbuild writes `// path/of/module.js` before each module it bundles: line → the module's package or source file. */
function bundleModuleIndex(bundle: string): (line: number) => string {
  const starts: { line: number; where: string }[] = [];
  readFileSync(bundle, "utf8")
    .split("\n")
    .forEach((text, i) => {
      const m = /^\/\/ (\S+\.(?:js|mjs|cjs|ts))$/.exec(text);
      if (!m) return;
      const path = m[1]!;
      const nm = path.lastIndexOf("node_modules/");
      const rest = path.slice(nm + 13);
      starts.push({ line: i + 1, where: nm >= 0 ? rest.split("/").slice(0, rest.startsWith("@") ? 2 : 1).join("/") : path.replace(/^(\.\.\/)+/, "") });
    });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = "(bundle)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]!.line <= line) {
        found = starts[mid]!.where;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}
