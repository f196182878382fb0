// The gateway measured on its own: predict vs a no-op route with the log consumer, D1 and the
// control plane in another workerd process, and CPU per predict by phase inside the isolate.
//
// Two miniflare instances (two workerd processes): the full stack (control plane with its
// consumer, D1, R2, and a gateway for the full-stack figure), and a gateway alone whose snapshot
// comes from the first over HTTP and whose log queue has no consumer in its process (the local
// broker accepts each sendBatch and drops it, as a remote queue would take it away). Models: the
// demo (50/50 logistic regression and MLP 6-16-1, features in the request) and a 20-feature model
// reading 2 online views from Redis (Upstash REST → bridge → redis-server).
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { inputWidth, onlineKey, randomToken, type FeatureSpec } from "@verge/shared";
import { upstashStore } from "@verge/shared/online-store/upstash";
import { logisticRegressionModel } from "@verge/shared/onnx/writer";
import { controlPlaneClient } from "@verge/client";
import { Redis } from "ioredis";
import { Log, LogLevel } from "miniflare";
import { seedDemo } from "../scripts/lib/demo.ts";
import { miniflare } from "../scripts/lib/miniflare.ts";
import { freePort, startRedis } from "../scripts/lib/redis-server.ts";
import { bundleModules } from "../scripts/lib/build.ts";
import { startStack, stackOptions } from "../scripts/lib/stack.ts";
import { childPids, processCpuMs, startChildServer } from "./child.ts";
import { conditions, median, writeSection } from "./report.ts";
import { fixedRate } from "./fixed-rate.ts";
import { profileWorker } from "./profile.ts";

const CONNECTIONS = 32;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const HALF_ROUNDS = 3;
const ENTITIES = 1000;

const numbers = (view: string | undefined, prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}`, type: "number" as const, default: 0, ...(view ? { view } : {}) }));
/** 20 features: 8 from a user view, 8 from an item view (one categorical), 4 from the request. */
const wideSpec: FeatureSpec = {
  input: "input",
  views: [
    { name: "user", entity: "user_id", max_age_s: 86_400 },
    { name: "item", entity: "item_id", max_age_s: 86_400 },
  ],
  features: [
    ...numbers("user", "u", 8),
    ...numbers("item", "i", 7),
    { name: "i_cat", type: "categorical", vocabulary: ["a", "b", "c", "d"], default: "a", view: "item" },
    ...numbers(undefined, "r", 3),
    { name: "r_member", type: "boolean", default: false },
  ],
};

/** Throughput, latency, the gateway workerd process's CPU time per request (µs), and MGETs at redis-server per request. */
type Run = { rps: number; p50: number; p99: number; cpuUs: number; reads: number };

/** A worker's modules from a bundle folder (`wrangler deploy --dry-run --outdir`). */
function bundleFrom(dir: string) {
  const files = readdirSync(dir);
  return {
    modulesRoot: dir,
    modules: [{ type: "ESModule", path: join(dir, "index.js") }, ...files.filter((f) => f.endsWith(".wasm")).map((f) => ({ type: "CompiledWasm", path: join(dir, f) }))],
  };
}

export async function benchEdge(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const redis = await startRedis();
  const counter = new Redis(redis.url);
  const mgets = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(await counter.info("commandstats"))?.[1] ?? 0);
  // The bridge stands in for Upstash, a service of its own: it runs in its own process, not on the
  // load generator's event loop.
  const bridgeProcess = await startChildServer("bench/bridge-process.ts", { redisUrl: redis.url, token: "bench" });
  const bridge = { url: `http://127.0.0.1:${bridgeProcess.port}`, close: bridgeProcess.stop };
  const home = mkdtempSync(join(tmpdir(), "verge-bench-edge-"));
  const adminToken = randomToken("vadm");
  const gatewayToken = randomToken("vgw");
  const demoKey = randomToken("vk");
  const wideKey = randomToken("vk");
  const ports: { gateway: number; controlPlane: number; alone: number; baseline?: number } = { gateway: await freePort(), controlPlane: await freePort(), alone: await freePort() };
  const gatewayBindings = { ONLINE_STORE: "upstash", UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: "bench" };
  const options = { adminToken, gatewayToken, ports: { gateway: ports.gateway, controlPlane: ports.controlPlane }, snapshotTtlMs: 2000, persistTo: home, gatewayBindings };
  const full = await startStack(options);
  let alone: ReturnType<typeof miniflare> | undefined;
  let baseline: ReturnType<typeof miniflare> | undefined;
  try {
    const admin = controlPlaneClient({ baseUrl: `http://127.0.0.1:${ports.controlPlane}`, token: adminToken });
    await seedDemo(admin, demoKey);
    await admin.ok("POST", "/v1/models", { name: "wide", task: "binary_classification" });
    const width = inputWidth(wideSpec);
    const wide = await admin.uploadVersion("wide", logisticRegressionModel(Array.from({ length: width }, (_, i) => Math.sin(i) * 0.05), -0.2), { runtime: "edge", inputs: [{ name: "input", shape: [-1, width] }], outputs: [{ name: "probability", shape: [-1, 1] }], feature_spec: wideSpec });
    await admin.ok("PUT", "/v1/models/wide/deployment", { variants: [{ name: "main", version: wide.version, weight: 10000 }] });
    // The same model with both views cached in each isolate for up to 60 s (`cache_s`).
    const cachedSpec: FeatureSpec = { ...wideSpec, views: wideSpec.views.map((v) => ({ ...v, cache_s: 60 })) };
    await admin.ok("POST", "/v1/models", { name: "widec", task: "binary_classification" });
    const widec = await admin.uploadVersion("widec", logisticRegressionModel(Array.from({ length: width }, (_, i) => Math.sin(i) * 0.05), -0.2), { runtime: "edge", inputs: [{ name: "input", shape: [-1, width] }], outputs: [{ name: "probability", shape: [-1, 1] }], feature_spec: cachedSpec });
    await admin.ok("PUT", "/v1/models/widec/deployment", { variants: [{ name: "main", version: widec.version, weight: 10000 }] });
    await admin.ok("POST", "/v1/keys", { name: "wide", models: ["wide", "widec"], key: wideKey });
    const store = upstashStore({ url: bridge.url, token: "bench" });
    const now = Date.now();
    for (let i = 0; i < ENTITIES; i += 100) {
      const ids = Array.from({ length: 100 }, (_, j) => i + j);
      await store.putMany(ids.map((k) => ({ key: onlineKey("user", `u${k}`), row: { ts: now, values: Object.fromEntries(Array.from({ length: 8 }, (_, f) => [`u${f}`, (k * (f + 1)) % 17]) as [string, number][]) } })));
      await store.putMany(ids.map((k) => ({ key: onlineKey("item", `i${k}`), row: { ts: now, values: { ...Object.fromEntries(Array.from({ length: 7 }, (_, f) => [`i${f}`, (k + f) % 13])), i_cat: ["a", "b", "c", "d"][k % 4]! } } })));
    }

    // The gateway alone: the same worker and bindings, its own workerd, the control plane over HTTP.
    const base = stackOptions(options);
    const gw = base.workers[0]!;
    const inspectorPort = process.env.BENCH_ONLY === "profile" ? await freePort() : undefined;
    const from = await full.mf.getR2Bucket("ARTIFACTS", "verge-control-plane");
    /** A lone gateway from a bundle (this tree's, or an older build's for a side-by-side comparison). */
    const startAlone = async (port: number, bundleDir?: string) => {
      const before = new Set(childPids("workerd"));
      const mf = miniflare({
        log: new Log(LogLevel.WARN),
        ...(inspectorPort && !bundleDir ? { inspectorPort } : {}),
        cf: false,
        workers: [
          {
            ...gw,
            ...(bundleDir ? bundleFrom(bundleDir) : {}),
            bindings: { ...gw.bindings, BENCH_PHASES: "1" },
            queueConsumers: {},
            serviceBindings: { CONTROL_PLANE: { external: { address: `127.0.0.1:${ports.controlPlane}`, http: {} } } },
            unsafeDirectSockets: [{ host: "127.0.0.1", port }],
          } as typeof gw,
        ],
      });
      await mf.ready;
      const pid = childPids("workerd").find((p) => !before.has(p));
      if (pid === undefined) throw new Error("the lone gateway's workerd process was not found");
      // Artifacts are written by the control plane into its R2; the lone gateway gets a copy.
      const to = await mf.getR2Bucket("ARTIFACTS");
      for (const o of (await from.list({ prefix: "artifacts/" })).objects) await to.put(o.key, await (await from.get(o.key))!.arrayBuffer());
      return { mf, pid };
    };
    const lone = await startAlone(ports.alone);
    alone = lone.mf;
    const alonePid = lone.pid;
    const pidOf: Record<number, number> = { [ports.alone]: alonePid };
    const baselineDir = process.env.BENCH_BASELINE;
    if (baselineDir) {
      ports.baseline = await freePort();
      const b = await startAlone(ports.baseline, baselineDir);
      baseline = b.mf;
      pidOf[ports.baseline] = b.pid;
    }

    const entity = (p: string) => `${p}${Math.floor(Math.random() * ENTITIES)}`;
    const bodies = {
      demo: () => ({ unit: `u-${Math.random()}`, features: { tenure_months: 20, plan: "pro" } }),
      wide: () => ({ unit: entity("u"), entities: { user_id: entity("u"), item_id: entity("i") }, features: { r0: 1.5, r1: 3, r2: -2, r_member: true } }),
      widec: () => bodies.wide(),
    };
    const keys = { demo: demoKey, wide: wideKey, widec: wideKey };
    const load = async (port: number, target: "noop" | keyof typeof bodies, o: { rate?: number; seconds?: number } = {}): Promise<Run> => {
      const url = target === "noop" ? `http://127.0.0.1:${port}/v2/health/live` : `http://127.0.0.1:${port}/v1/models/${target}/predict`;
      const opts = {
        url,
        connections: o.rate ? 8 : CONNECTIONS,
        duration: o.seconds ?? SECONDS,
        ...(o.rate ? { overallRate: o.rate } : {}),
        ...(target === "noop"
          ? { method: "GET" }
          : { method: "POST", headers: { authorization: `Bearer ${keys[target]}`, "content-type": "application/json" }, requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify(bodies[target]()) }) }] }),
      };
      const pid = pidOf[port];
      const reads0 = await mgets();
      const cpu0 = pid ? processCpuMs(pid) : 0;
      const r = await autocannon(opts as unknown as autocannon.Options);
      const cpuMs = pid ? processCpuMs(pid) - cpu0 : NaN;
      const reads = ((await mgets()) - reads0) / r.requests.total;
      if (r.non2xx || r.errors) throw new Error(`${target} on ${port}: ${r.non2xx} non-2xx and ${r.errors} errors`);
      return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUs: (cpuMs * 1000) / r.requests.total, reads };
    };

    for (const t of ["demo", "wide", "widec", "noop"] as const) await load(ports.alone, t, { seconds: 2 }); // warm: ORT, sessions, snapshot
    if (process.env.BENCH_ONLY === "cut") {
      // Throughput bisect: the demo predict ended after the middleware, without holding its log
      // hand-off in waitUntil, and whole; alternating with the no-op.
      const cutLoad = async (cut?: string) => {
        const cpu0 = processCpuMs(alonePid);
        const r = await autocannon({ url: `http://127.0.0.1:${ports.alone}/v1/models/demo/predict`, connections: CONNECTIONS, duration: SECONDS, method: "POST", headers: { authorization: `Bearer ${keys.demo}`, "content-type": "application/json", ...(cut ? { "x-bench-cut": cut } : {}) }, requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify(bodies.demo()) }) }] } as unknown as autocannon.Options);
        if (r.non2xx || r.errors) throw new Error(`cut ${cut}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        cpu[cut ?? "whole"]!.push(((processCpuMs(alonePid) - cpu0) * 1000) / r.requests.total);
        return r.requests.average;
      };
      const out: Record<string, number[]> = { noop: [], handler: [], infer: [], nolog: [], whole: [] };
      const cpu: Record<string, number[]> = { noop: [], handler: [], infer: [], nolog: [], whole: [] };
      for (let i = 0; i < ROUNDS; i++) {
        const n = await load(ports.alone, "noop");
        out.noop!.push(n.rps);
        cpu.noop!.push(n.cpuUs);
        for (const c of ["handler", "infer", "nolog", "whole"]) out[c]!.push(await cutLoad(c === "whole" ? undefined : c));
        console.log(`round ${i + 1}`, JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v.at(-1)!)]))), "load", loadavg()[0]!.toFixed(1));
      }
      console.log("medians", JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(median(v))]))));
      console.log("workerd CPU µs per request, medians", JSON.stringify(Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Math.round(median(v))]))));
      return;
    }
    if (ports.baseline) {
      // This tree's gateway against an older build's, side by side: alternating rounds in one run.
      for (const t of ["demo", "wide", "widec", "noop"] as const) await load(ports.baseline, t, { seconds: 2 });
      const out: Record<string, Run[]> = {};
      for (let i = 0; i < ROUNDS; i++) {
        for (const [name, port] of [["new", ports.alone!], ["baseline", ports.baseline]] as const) {
          for (const t of ["noop", "demo", "wide", "widec"] as const) {
            const r = await load(port, t);
            (out[`${name} ${t}`] ??= []).push(r);
          }
        }
        console.log(`round ${i + 1}`, Object.entries(out).map(([k, v]) => `${k} ${v.at(-1)!.rps.toFixed(0)} req/s ${v.at(-1)!.cpuUs.toFixed(0)} µs`).join(" | "), "load", loadavg()[0]!.toFixed(1));
      }
      const med = (k: string, f: keyof Run) => median(out[k]!.map((r) => r[f]));
      // Paired per round (the same minute of the machine): the new build's CPU per request over the baseline's.
      const paired = (t: string) => median(out[`new ${t}`]!.map((r, i) => r.cpuUs / out[`baseline ${t}`]![i]!.cpuUs));
      console.log(`new / baseline CPU per request, median of per-round ratios: ${(["noop", "demo", "wide", "widec"] as const).map((t) => `${t} ${paired(t).toFixed(2)}`).join(", ")}`);
      for (const name of ["new", "baseline"]) {
        const noop = (f: keyof Run) => med(`${name} noop`, f);
        const each = (["demo", "wide", "widec"] as const).map((t) => `${t} ${med(`${name} ${t}`, "rps").toFixed(0)} req/s ${med(`${name} ${t}`, "cpuUs").toFixed(0)} µs (ratio ${(med(`${name} ${t}`, "rps") / noop("rps")).toFixed(2)}, CPU ratio ${(noop("cpuUs") / med(`${name} ${t}`, "cpuUs")).toFixed(2)})`);
        console.log(`${name}: no-op ${noop("rps").toFixed(0)} req/s ${noop("cpuUs").toFixed(0)} µs; ${each.join("; ")}`);
      }
      return;
    }
    if (inspectorPort) {
      // Where the workerd thread's time goes under load, by function and by package (V8's profiler).
      for (const target of (process.env.BENCH_TARGETS ?? "noop,demo,wide").split(",") as ("noop" | keyof typeof bodies)[]) {
        let run: Run | undefined;
        const p = await profileWorker(inspectorPort, bundleModules("gateway").modules[0]!.path, async () => {
          run = await load(ports.alone, target, { seconds: 5 });
        });
        const perReq = (us: number) => ((us / p.totalUs) * run!.cpuUs).toFixed(1);
        console.log(`\n${target}: ${run!.rps.toFixed(0)} req/s, workerd CPU ${run!.cpuUs.toFixed(0)} µs per request; JS thread samples ${(p.totalUs / 1000).toFixed(0)} ms`);
        console.log("by package (share, µs per request of process CPU):");
        for (const [k, us] of p.byPackage.slice(0, 25)) console.log(`  ${((100 * us) / p.totalUs).toFixed(1).padStart(5)}%  ${perReq(us).padStart(6)}  ${k}`);
        console.log("by function:");
        for (const [k, us] of p.byFunction.slice(0, 40)) console.log(`  ${((100 * us) / p.totalUs).toFixed(1).padStart(5)}%  ${perReq(us).padStart(6)}  ${k}`);
      }
      return;
    }
    if (process.env.BENCH_ONLY === "phases") {
      for (const model of ["demo", "wide"] as const) {
        const res = await fetch(`http://127.0.0.1:${ports.alone}/__bench/phases?model=${model}&n=1000`, { method: "POST", headers: { authorization: `Bearer ${keys[model]}`, "content-type": "application/json" }, body: JSON.stringify(bodies[model]()) });
        console.log(model, await res.text());
      }
      return;
    }
    const results: Record<string, { noop: Run[]; predict: Run[]; half?: { noop: Run[]; predict: Run[]; rate: number } }> = {};
    for (const model of ["demo", "wide", "widec"] as const) {
      const r = { noop: [] as Run[], predict: [] as Run[] };
      for (let i = 0; i < ROUNDS; i++) {
        r.noop.push(await load(ports.alone, "noop"));
        r.predict.push(await load(ports.alone, model));
        console.log(`${model} round ${i + 1}: no-op ${r.noop.at(-1)!.rps.toFixed(0)} req/s (${r.noop.at(-1)!.cpuUs.toFixed(0)} µs CPU), predict ${r.predict.at(-1)!.rps.toFixed(0)} req/s (${r.predict.at(-1)!.cpuUs.toFixed(0)} µs CPU, ${r.predict.at(-1)!.reads.toFixed(2)} store reads), load ${loadavg()[0]!.toFixed(1)}`);
      }
      // Added latency at half the saturating predict load: both routes at the same fixed rate.
      const rate = Math.round(median(r.predict.map((x) => x.rps)) / 2);
      const half = { noop: [] as Run[], predict: [] as Run[], rate };
      const origin = `http://127.0.0.1:${ports.alone}`;
      for (let i = 0; i < HALF_ROUNDS; i++) {
        const n = await fixedRate(origin, { path: "/v2/health/live", method: "GET" }, rate, SECONDS);
        const p = await fixedRate(origin, { path: `/v1/models/${model}/predict`, method: "POST", headers: { authorization: `Bearer ${keys[model]}`, "content-type": "application/json" }, body: () => JSON.stringify(bodies[model]()) }, rate, SECONDS);
        if (n.failed || p.failed) throw new Error(`half load: ${n.failed} no-op and ${p.failed} predict requests failed`);
        half.noop.push({ rps: rate, p50: n.p50, p99: n.p99, cpuUs: NaN, reads: NaN });
        half.predict.push({ rps: rate, p50: p.p50, p99: p.p99, cpuUs: NaN, reads: NaN });
        console.log(`${model} half load ${rate} req/s round ${i + 1}: p50 no-op ${n.p50} ms, predict ${p.p50} ms`);
      }
      results[model] = { ...r, half };
    }

    // In-isolate CPU by phase.
    const phases: Record<string, { phases_us: Record<string, number>; extra_us: Record<string, number>; whole_us: Record<string, number>; chain_us: Record<string, number>; clock_moves_in_cpu: boolean; n: number }> = {};
    for (const model of ["demo", "wide"] as const) {
      const res = await fetch(`http://127.0.0.1:${ports.alone}/__bench/phases?model=${model}&n=${model === "demo" ? 2000 : 1000}`, { method: "POST", headers: { authorization: `Bearer ${keys[model]}`, "content-type": "application/json" }, body: JSON.stringify(bodies[model]()) });
      if (!res.ok) throw new Error(`phases: ${res.status} ${await res.text()}`);
      phases[model] = (await res.json()) as (typeof phases)[string];
      console.log(model, JSON.stringify(phases[model]));
    }

    // The full stack (consumer, D1 and control plane in the gateway's workerd), labelled as such.
    const fullStack = { noop: [] as Run[], predict: [] as Run[] };
    await load(ports.gateway, "demo", { seconds: 2 });
    for (let i = 0; i < 2; i++) {
      fullStack.noop.push(await load(ports.gateway, "noop"));
      fullStack.predict.push(await load(ports.gateway, "demo"));
    }

    const m = (xs: Run[], k: keyof Run) => median(xs.map((x) => x[k]));
    const ratio = (r: { noop: Run[]; predict: Run[] }) => m(r.predict, "rps") / m(r.noop, "rps");
    const labels = { demo: "demo (LR / MLP 6-16-1, features in the request)", wide: "wide (20 features, 2 online views in Redis, read on every request)", widec: "wide, both views with `cache_s: 60` (rows kept in the isolate)" };
    const rows = (["demo", "wide", "widec"] as const).map((model) => {
      const r = results[model]!;
      const h = r.half!;
      return `| ${labels[model]} | ${m(r.noop, "rps").toFixed(0)} | ${m(r.predict, "rps").toFixed(0)} | **${ratio(r).toFixed(2)}** | ${m(r.noop, "cpuUs").toFixed(0)} / ${m(r.predict, "cpuUs").toFixed(0)} | **${(m(r.noop, "cpuUs") / m(r.predict, "cpuUs")).toFixed(2)}** | ${m(r.predict, "reads").toFixed(2)} | ${h.rate} | ${m(h.noop, "p50").toFixed(2)} | ${m(h.predict, "p50").toFixed(2)} | ${(m(h.predict, "p50") - m(h.noop, "p50")).toFixed(2)} |`;
    });
    const phaseNames = Object.keys(phases.demo!.phases_us);
    const phaseRows = phaseNames.map((p) => `| ${p.replace("_", " ")} | ${phases.demo!.phases_us[p]!.toFixed(1)} | ${phases.wide!.phases_us[p]!.toFixed(1)} |`);
    // The rest of the loops: serve() alone, reading a body, and whole requests that stop early, to bisect the request path.
    const extraKeys = [...Object.keys(phases.demo!.extra_us), ...Object.keys(phases.demo!.whole_us).filter((k) => k !== "predict_request" && k !== "noop_request")];
    const pick = (model: string, k: string) => (phases[model]!.extra_us[k] ?? phases[model]!.whole_us[k] ?? NaN).toFixed(1);
    const extraRows = extraKeys.map((k) => `| ${k.replaceAll("_", " ")} | ${pick("demo", k)} | ${pick("wide", k)} |`);
    const sum = (model: string) => Object.values(phases[model]!.phases_us).reduce((s, x) => s + x, 0);
    writeSection(
      "edge",
      `## Gateway alone: predict vs no-op, and CPU per predict by phase

The gateway runs in its own workerd; the control plane (snapshot over HTTP), its log consumer and D1 run in another; the Upstash REST bridge runs in a Node process of its own, in front of redis-server. "Gateway CPU" is the gateway's workerd process's own user + system time (/proc) over a round divided by the requests it served: what a predict costs the gateway whatever else shares the cores, so its ratio (no-op CPU / predict CPU) is the throughput ratio the gateway would reach with the cores to itself. Each predict still builds its log records and hands them to the queue binding (sendBatch to the local broker, which has no consumer in the gateway's process and drops them: the remote queue's side is not this isolate's CPU).

| model | no-op req/s | predict req/s | ratio (goal ≥ 0.6) | gateway CPU µs per request, no-op / predict | CPU ratio | store reads per predict | half load (req/s) | no-op p50 ms | predict p50 ms | added p50 ms (goal ≤ 1) |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

CPU per predict by phase, µs, measured inside the isolate (\`BENCH_PHASES=1\`, \`POST /__bench/phases\`): deployed workerd's clocks stand still while JavaScript runs (Spectre mitigation); here the clock ${phases.demo!.clock_moves_in_cpu ? "did move" : "did not move"} during 5·10⁷ loop iterations, but its step is 1 ms, so either way each phase runs in a loop (doubling until one loop takes ≥ 20 ms, then the fastest of 5 such loops) between two awaited I/O calls and the elapsed time is divided by the count. Features replay the store's answer for the request (the Redis read itself is I/O, in the throughput rows above).

| phase | demo | wide |
|---|---|---|
${phaseRows.join("\n")}
| **sum of phases** | ${sum("demo").toFixed(1)} | ${sum("wide").toFixed(1)} |
| whole predict request through the app (in-isolate loop, no HTTP server) | ${phases.demo!.whole_us.predict_request!.toFixed(1)} | ${phases.wide!.whole_us.predict_request!.toFixed(1)} (includes the Redis round trip) |
| whole no-op request through the app | ${phases.demo!.whole_us.noop_request!.toFixed(1)} | ${phases.wide!.whole_us.noop_request!.toFixed(1)} |
${extraRows.join("\n")}

The predict route rebuilt one step at a time (each row adds one step to the row above; the request carries content-length as one from the network does), in µs per request in the same loops:

| step | demo | wide |
|---|---|---|
${Object.keys(phases.demo!.chain_us).map((k) => `| ${k.replaceAll("_", " ")} | ${phases.demo!.chain_us[k]!.toFixed(1)} | ${phases.wide!.chain_us[k]!.toFixed(1)} |`).join("\n")}

Full stack, for comparison (consumer, D1 and control plane in the gateway's workerd, as \`http\` measures): no-op ${m(fullStack.noop, "rps").toFixed(0)} req/s, demo predict ${m(fullStack.predict, "rps").toFixed(0)} req/s, ratio ${ratio(fullStack).toFixed(2)}.

autocannon in this Node process, ${CONNECTIONS} connections, ${SECONDS} s rounds, ${ROUNDS} alternating rounds per model, medians. Half load: a fixed-rate generator (\`bench/fixed-rate.ts\`, undici, requests started on schedule whatever the answers, each timed with hrtime from its scheduled start to its last byte), no-op and predict alternating, ${HALF_ROUNDS} rounds each, medians of the rounds' p50s. ${conditions(`Load average (1 min) ${loadBefore.toFixed(1)} before and ${loadavg()[0]!.toFixed(1)} after: other heavy work shared the 2 cores.`)}`,
    );
  } finally {
    await alone?.dispose();
    await baseline?.dispose();
    await full.dispose();
    await bridge.close();
    counter.disconnect();
    await redis.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
