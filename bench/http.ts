// (b) Requests per second of /v1/models/demo/predict vs a no-op route of the same gateway,
// straight from workerd's socket (no miniflare proxy), alternating rounds under the same load.
import autocannon from "autocannon";
import { randomToken } from "@verge/shared";
import { controlPlaneClient } from "@verge/client";
import { seedDemo } from "../scripts/lib/demo.ts";
import { startStack } from "../scripts/lib/stack.ts";
import { conditions, median, writeSection } from "./report.ts";

const CONNECTIONS = 32;
// Short rounds: the local queue simulator refuses work past 10,000 undelivered messages.
const SECONDS = 3;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const ports = { gateway: 18787, controlPlane: 18788 };

export async function benchHttp(): Promise<void> {
  const adminToken = randomToken("vadm");
  const clientKey = randomToken("vk");
  const stack = await startStack({ adminToken, gatewayToken: randomToken("vgw"), ports, snapshotTtlMs: 2000 });
  try {
    await seedDemo(controlPlaneClient({ fetch: stack.controlPlane, token: adminToken }), clientKey);
    const base = `http://127.0.0.1:${ports.gateway}`;
    const predict = {
      url: `${base}/v1/models/demo/predict`,
      method: "POST" as const,
      headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json" },
      // Distinct units per request, so routing spreads over both versions as in production.
      requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: JSON.stringify({ unit: `u-${Math.random()}`, features: { tenure_months: 20, plan: "pro" } }) }) }],
    };
    const noop = { url: `${base}/v2/health/live`, method: "GET" as const };
    const run = async (opts: object) => {
      const r = await autocannon({ ...opts, connections: CONNECTIONS, duration: SECONDS } as autocannon.Options);
      if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx and ${r.errors} errors during the run`);
      return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
    };
    await run({ ...predict, duration: 2 }); // warm: ORT start, sessions, snapshot
    await run({ ...noop, duration: 2 });
    const p: Awaited<ReturnType<typeof run>>[] = [];
    const n: Awaited<ReturnType<typeof run>>[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      n.push(await run(noop));
      p.push(await run(predict));
      console.log(`round ${r + 1}: no-op ${n.at(-1)!.rps.toFixed(0)} req/s, predict ${p.at(-1)!.rps.toFixed(0)} req/s`);
    }
    const row = (name: string, xs: typeof p) => `| ${name} | ${median(xs.map((x) => x.rps)).toFixed(0)} | ${median(xs.map((x) => x.p50)).toFixed(1)} | ${median(xs.map((x) => x.p99)).toFixed(1)} |`;
    const ratio = median(p.map((x) => x.rps)) / median(n.map((x) => x.rps));
    writeSection(
      "http",
      `## (b) Gateway throughput: predict vs a no-op route

| route | req/s | p50 ms | p99 ms |
|---|---|---|---|
${row("GET /v2/health/live (no-op)", n)}
${row("POST /v1/models/demo/predict", p)}

Ratio predict / no-op: **${ratio.toFixed(2)}** (target ≥ 0.5).

autocannon, ${CONNECTIONS} connections, ${SECONDS} s per round, ${ROUNDS} alternating rounds, medians; load generator and workerd on the same machine. The gateway is served from workerd's own socket (miniflare's \`unsafeDirectSockets\`), with the control plane, D1, R2 and the log queue in the same workerd: each predict authenticates the key, routes, encodes features, runs the demo model (50/50 logistic regression and MLP 6-16-1) in onnxruntime-web and queues a log record, which the control plane's consumer folds meanwhile.
${conditions()}`,
    );
  } finally {
    await stack.dispose();
  }
}
