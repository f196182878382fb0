// (batching) Dynamic batching on the origin, measured fairly: each origin node runs in a process of
// its own (bench/origin-process.ts) and the load generator (autocannon) in this one, so they share
// no event loop. Signed OIP infer requests of one row each, every request with a fresh nonce (the
// origin refuses replays), on the widest MLP; modes side by side in one run, alternating rounds.
// Each node's own CPU time and event-loop figures are read from its /metrics (prom-client's
// process metrics), this process's CPU time from process.cpuUsage().
import { createHash, createHmac, randomBytes } from "node:crypto";
import autocannon from "autocannon";
import { NONCE_HEADER, originCanonical, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "@verge/shared";
import { freePort } from "../scripts/lib/redis-server.ts";
import { startChildServer, type ChildServer } from "./child.ts";
import type { OriginProcessSettings } from "./origin-process.ts";
import { conditions, median, writeSection } from "./report.ts";

const SECRET = "bench-origin-secret-0123456789";
const METRICS_TOKEN = "bench-metrics-token-0123456789";
const CONNECTIONS = 64;
const SECONDS = 8;
const ROUNDS = 3;
const INPUTS = 256;
const HIDDEN = 4096;
/** Batching off, and on at two queue delays; identical session options (1 intra-op thread measured fastest here). */
const MODES = [
  { name: "off", label: "batching off (max batch 1)", maxBatch: 1, delayMs: 0 },
  { name: "on", label: "batching on (max batch 64, delay 2 ms)", maxBatch: 64, delayMs: 2 },
  { name: "on-5ms", label: "batching on (max batch 64, delay 5 ms)", maxBatch: 64, delayMs: 5 },
] as const;
const INTRA_OP_THREADS = Number(process.env.BENCH_INTRA_OP_THREADS ?? 1);

type Node = ChildServer;

const startNode = async (maxBatch: number, delayMs: number): Promise<Node> => {
  const settings: OriginProcessSettings = { port: await freePort(), hidden: HIDDEN, inputs: INPUTS, maxBatch, delayMs, intraOpThreads: INTRA_OP_THREADS, secret: SECRET, metricsToken: METRICS_TOKEN };
  return startChildServer("bench/origin-process.ts", settings);
};

/** The node's counters that say where its time went. */
async function scrape(node: Node) {
  let text = "";
  // Right after a round the node may still be closing the generator's 64 connections: a reset
  // scrape is tried again rather than failing the run.
  for (let attempt = 0; ; attempt++) {
    try {
      text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      break;
    } catch (err) {
      if (attempt >= 10 || node.child.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  const value = (series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}"=,]/g, (c) => `\\${c}`)} (\\S+)`, "m"))?.[1] ?? 0);
  return {
    cpu: value("process_cpu_seconds_total"),
    runs: value('verge_origin_batch_rows_count{model="heavy",version="1"}'),
    rows: value('verge_origin_batch_rows_sum{model="heavy",version="1"}'),
    lagP99: value('nodejs_eventloop_lag_p99_seconds'),
  };
}

interface Round {
  rps: number;
  p50: number;
  p99: number;
  rowsPerRun: number;
  /** Origin process CPU per request, ms (event loop, onnxruntime's threads, GC). */
  originCpuMs: number;
  /** Load generator CPU per request, ms. */
  loadCpuMs: number;
  lagP99Ms: number;
}

export async function benchBatching(): Promise<void> {
  const path = "/v2/models/heavy/versions/1/infer";
  const body = JSON.stringify({ inputs: [{ name: "input", shape: [1, INPUTS], datatype: "FP32", data: Array.from({ length: INPUTS }, (_, i) => Math.sin(i)) }] });
  const bodySha256 = createHash("sha256").update(body).digest("hex");
  const nodes = new Map<string, Node>();
  for (const m of MODES) nodes.set(m.name, await startNode(m.maxBatch, m.delayMs));
  const round = async (node: Node, duration: number): Promise<Round> => {
    const host = `127.0.0.1:${node.port}`;
    // Signed per request, synchronously (autocannon's setupRequest cannot wait): a fresh nonce each time.
    const setupRequest = (req: { headers?: Record<string, string> }) => {
      const timestamp = String(Date.now());
      const nonce = randomBytes(16).toString("hex");
      const signature = createHmac("sha256", SECRET).update(originCanonical({ method: "POST", host, path, timestamp, nonce, bodySha256 })).digest("hex");
      req.headers = { ...req.headers, [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: signature };
      return req;
    };
    const before = await scrape(node);
    const cpu0 = process.cpuUsage();
    const r = await autocannon({ url: `http://${host}`, connections: CONNECTIONS, duration, requests: [{ method: "POST", path, headers: { "content-type": "application/json" }, body, setupRequest }] } as autocannon.Options);
    const cpu = process.cpuUsage(cpu0);
    if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx and ${r.errors} errors during the run`);
    const after = await scrape(node);
    const total = r.requests.total;
    return {
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      rowsPerRun: (after.rows - before.rows) / Math.max(1, after.runs - before.runs),
      originCpuMs: ((after.cpu - before.cpu) * 1000) / total,
      loadCpuMs: (cpu.user + cpu.system) / 1000 / total,
      lagP99Ms: after.lagP99 * 1000,
    };
  };
  const results = new Map<string, Round[]>(MODES.map((m) => [m.name, []]));
  try {
    for (const m of MODES) await round(nodes.get(m.name)!, 2); // warm: session load, JIT
    for (let i = 0; i < ROUNDS; i++) {
      for (const m of MODES) {
        const r = await round(nodes.get(m.name)!, SECONDS);
        results.get(m.name)!.push(r);
        console.log(`round ${i + 1} ${m.name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.rowsPerRun.toFixed(1)} rows/run, origin ${r.originCpuMs.toFixed(3)} ms CPU/req, load generator ${r.loadCpuMs.toFixed(3)} ms CPU/req`);
      }
    }
  } finally {
    for (const node of nodes.values()) await node.stop();
  }
  const med = (name: string, k: keyof Round) => median(results.get(name)!.map((x) => x[k]));
  const off = med("off", "rps");
  const rows = MODES.map(
    (m) =>
      `| ${m.label} | ${med(m.name, "rps").toFixed(0)} | ${med(m.name, "p50").toFixed(1)} | ${med(m.name, "p99").toFixed(1)} | ${m.name === "off" ? "—" : med(m.name, "rowsPerRun").toFixed(1)} | ${med(m.name, "originCpuMs").toFixed(3)} | ${med(m.name, "loadCpuMs").toFixed(3)} | ${m.name === "off" ? "1×" : `**${(med(m.name, "rps") / off).toFixed(2)}×**`} |`,
  );
  const best = MODES.filter((m) => m.name !== "off").sort((a, b) => med(b.name, "rps") - med(a.name, "rps"))[0]!;
  const ratio = med(best.name, "rps") / off;
  const p99Ok = med(best.name, "p99") <= med("off", "p99");
  const verdict = `Goal (≥ 4× throughput with batching, p99 no worse): throughput ${ratio.toFixed(2)}× (${ratio >= 4 ? "met" : "not met"}), p99 ${med(best.name, "p99").toFixed(1)} vs ${med("off", "p99").toFixed(1)} ms (${p99Ok ? "no worse" : "worse"}).`;
  console.log(rows.join("\n"));
  console.log(verdict);
  writeSection(
    "batching",
    `## Dynamic batching on the origin (load generator in another process)

MLP ${INPUTS}-${HIDDEN}-${HIDDEN}-1 (${((INPUTS * HIDDEN + HIDDEN * HIDDEN + HIDDEN) * 4 / 2 ** 20).toFixed(0)} MiB of FP32 weights), one row per request.

| mode | req/s | p50 ms | p99 ms | rows per run | origin CPU ms/req | load generator CPU ms/req | throughput vs off |
|---|---|---|---|---|---|---|---|
${rows.join("\n")}

${verdict}

Each mode is its own origin node in its own process (\`bench/origin-process.ts\`: \`startOrigin\`, registry replaced by an in-memory fetcher, CPU execution provider, ${INTRA_OP_THREADS} intra-op thread, 1 inter-op thread); autocannon runs in the benchmark's process with ${CONNECTIONS} connections, each request signed with a fresh nonce (HMAC over method, host, path, timestamp, nonce, body sha256), ${SECONDS} s per round, ${ROUNDS} rounds alternating the modes after a 2 s warm-up each, medians. Rows per run and the origin's CPU time come from the node's own \`/metrics\` (\`verge_origin_batch_rows\`, \`process_cpu_seconds_total\`), the load generator's from \`process.cpuUsage()\`.
${conditions()}`,
  );
}
