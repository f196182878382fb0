// Snapshot revalidation at fleet scale: what one revalidation costs on each side, then control-plane
// snapshot calls per second as gateway isolates are added, with the colo's shared copy off (every
// isolate asks the control plane) and on, from 8 copies of the gateway bundle in one workerd.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedDemo } from "../scripts/lib/demo.ts";
import { CLIENT_KEY } from "../test/helpers.ts";
import { drive, startFleet, type Fleet } from "../test/fleet.ts";
import { conditions, writeSection } from "./report.ts";

const TTL_MS = 2000;
const WINDOW_MS = 4 * TTL_MS;
const SIZES = [1, 2, 4, 8];
const PROBE_N = 200;
/** Cloudflare's data centers (cities) as published at the time of writing; isolates spread over them. */
const COLOS = 330;
const REFRESH_AHEAD_MS = 500;
const CLAIM_SETTLE_MS = 100;

/** CPU seconds used so far by the workerd processes this process started (utime + stime). */
function workerdCpuSeconds(): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  const parentOf = new Map<number, number>();
  const stats = new Map<number, string[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      parentOf.set(Number(entry), Number(fields[1]));
      stats.set(Number(entry), [text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")), ...fields]);
    } catch {
      // gone meanwhile
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parentOf.get(pid); p !== undefined && p > 1; p = parentOf.get(p)) if (p === process.pid) return true;
    return false;
  };
  for (const [pid, f] of stats) if (f[0] === "workerd" && descends(pid)) total += (Number(f[12]) + Number(f[13])) / tick;
  return total;
}

async function warm(fleet: Fleet, isolates: number): Promise<void> {
  for (let i = 0; i < isolates; i++) await fleet.versionServed(i);
}

interface Rate {
  isolates: number;
  calls: number;
  full: number;
  served: number;
}

async function rates(fleet: Fleet): Promise<Rate[]> {
  const out: Rate[] = [];
  for (const k of SIZES) {
    await fleet.reset();
    const served = await drive(fleet, k, WINDOW_MS);
    out.push({ isolates: k, served, ...(await fleet.counts()) });
    console.log(out.at(-1));
  }
  return out;
}

const fmt = (x: number) => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(x >= 10 ? 1 : 2));

export async function benchSnapshot(): Promise<void> {
  const load0 = (await import("node:os")).loadavg()[0]!;
  const results: Record<"off" | "on", Rate[]> = { off: [], on: [] };
  const cost: { what: string; ms: number; cpuMs: number; bytes: number }[] = [];
  for (const mode of ["off", "on"] as const) {
    const dir = mkdtempSync(join(tmpdir(), "verge-bench-snapshot-"));
    const fleet = await startFleet({ isolates: Math.max(...SIZES), ttlMs: TTL_MS, coloCache: mode, persistTo: dir });
    try {
      await seedDemo(fleet.admin, CLIENT_KEY);
      await fleet.admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
      await warm(fleet, Math.max(...SIZES));
      if (mode === "on") {
        for (const what of ["none", "revalidate304", "revalidate200", "coloRead", "coloWrite"] as const) {
          const cpu0 = workerdCpuSeconds();
          const r = await fleet.probe(what, PROBE_N);
          cost.push({ what, ms: r.ms, cpuMs: ((workerdCpuSeconds() - cpu0) * 1000) / PROBE_N, bytes: r.snapshotBytes });
          console.log(cost.at(-1));
        }
      }
      results[mode] = await rates(fleet);
    } finally {
      await fleet.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const load1 = (await import("node:os")).loadavg()[0]!;

  const perSecond = (r: Rate) => r.calls / (WINDOW_MS / 1000);
  const raceMs = cost.find((c) => c.what === "coloRead")!.ms + cost.find((c) => c.what === "coloWrite")!.ms;
  const rateRows = SIZES.map((k, i) => {
    const off = results.off[i]!;
    const on = results.on[i]!;
    return `| ${k} | ${fmt(perSecond(off))} (${fmt(perSecond(off) / k)} per isolate) | ${fmt(perSecond(on))} | ${off.served + on.served > 0 ? `${off.served} / ${on.served}` : "—"} |`;
  });
  const base = cost.find((c) => c.what === "none")!;
  const row = (what: string, label: string) => {
    const c = cost.find((x) => x.what === what)!;
    return `| ${label} | ${c.ms.toFixed(2)} ms | ${Math.max(0, c.cpuMs - base.cpuMs).toFixed(2)} ms |`;
  };

  // Projection: before = isolates × the per-isolate rate measured with one isolate (the one least
  // limited by this machine's load); after = colos × the colo's rate measured with 8 isolates.
  const perIsolateOff = perSecond(results.off[0]!);
  const coloOn = perSecond(results.on.at(-1)!);
  const projection = [10, 1_000, 100_000].map((n) => {
    const colos = Math.min(n, COLOS);
    return `| ${n.toLocaleString("en-US")} | ${fmt(n * perIsolateOff)} | ${fmt(coloOn)} | ${fmt(colos * coloOn)} (${colos} colos × ${fmt(n / colos)} isolates) |`;
  });

  writeSection(
    "snapshot",
    `## Snapshot revalidation at fleet scale

One revalidation, timed inside a worker over ${PROBE_N} sequential calls (workerd's clock advances across each call's I/O); CPU is the workerd process's own (utime + stime from /proc) over the same calls, minus the same number of empty calls, so it holds the control plane, local D1, the calling worker's side of the service binding and the Cache API's local store together:

| call | wall per call | workerd CPU per call |
|---|---|---|
${row("revalidate304", "revalidation with the current ETag (304, nothing changed)")}
${row("revalidate200", `revalidation without an ETag (200, the whole snapshot: ${base.bytes} bytes for the demo)`)}
${row("coloRead", "read the colo's copy (Cache API match + body)")}
${row("coloWrite", "write the colo's copy (Cache API put)")}

Control-plane work per revalidation, from the route's code: a 304 is one Worker invocation and **one D1 query** (the snapshot counter by primary key, one row read); a 200 adds one batch of 7 queries that read every row of models, versions, aliases, deployments, live keys and log settings (grows with the registry).

Control-plane snapshot calls per second, measured: ${SIZES.at(-1)} copies of the gateway's deploy bundle in one workerd (each its own isolate, sharing the Cache API as one colo's isolates do), the first k driven with sequential predictions for ${WINDOW_MS / 1000} s each, calls counted by a worker in front of the control plane. TTL ${TTL_MS} ms (production's default), nothing changed during the window (every call a 304).

| isolates (one colo) | before: each isolate asks (\`SNAPSHOT_COLO_CACHE=off\`) | after: colo's copy first (\`on\`) | predictions served (off / on) |
|---|---|---|---|
${rateRows.join("\n")}

Projected control-plane calls per second (and D1 queries per second: the same number, one per 304) for a fleet, **computed** from the measured rates above, not measured at that scale: before = isolates × ${fmt(perIsolateOff)} (the per-isolate rate measured with the colo copy off; the design rate is one per TTL, ${fmt(1000 / TTL_MS)}/s, for an isolate that gets at least one request per TTL); after = colos × ${fmt(coloOn)}/s (the colo's rate measured with 8 isolates), assuming the rate stays flat beyond 8 isolates per colo, which rests on the claim protocol: isolates reach their refresh points spread over the TTL's last ${REFRESH_AHEAD_MS} ms, and the first one's claim is read back after ${CLAIM_SETTLE_MS} ms so that claims made within one Cache API round trip (${raceMs.toFixed(1)} ms read + write here, far less at Cloudflare) of each other leave one caller. Isolates spread evenly over ${COLOS} colos (Cloudflare's published city count); a colo with no isolate makes no calls.

| isolates | before | after, all in one colo | after, spread over colos |
|---|---|---|---|
${projection.join("\n")}

Rollback: freshness travels with the colo's copy (when the control plane last vouched for it), so every isolate serves a change at most one TTL plus one claim (1 s) after it was made (an isolate past its refresh point but within the TTL serves its copy and refreshes in the background; past the TTL a request waits for the refresh): ≤ 3 s at the default TTL, tested in \`gateway/test/snapshot-fleet.test.ts\` (rollback visible in all 8 isolates within 5 s). What holds at real Cloudflare and what does not: the Cache API is per data center and strongly consistent there as far as Cloudflare documents it, with no cross-colo propagation, which is why a KV version key was not chosen: KV reads are cached at the edge for at least 30 s (\`cacheTtl\`'s minimum; 60 s default) and writes propagate globally in up to about 60 s, so a KV key cannot bound rollback at 5 s; every KV read is also billed, per isolate. A Durable Object push cannot reach idle isolates (a worker holds no connection between requests), and polling one object from every isolate only moves the load. The Cache API stores nothing on \`*.workers.dev\` routes: there (and in any case where \`cache.put\` is dropped) each isolate falls back to asking the control plane, correct but not flat; deploy the gateway on a custom domain. Miniflare's Cache API is one local store shared by all workers, i.e. one colo.
${conditions(`Load average (1 min) ${load0.toFixed(1)} at the start and ${load1.toFixed(1)} at the end, on 2 cores shared with other work.`)}`,
  );
}
