// The local stack's own timings, as a developer meets them: `npm start` run as a process in a
// fresh VERGE_HOME on free ports — the first start (building the workers, seeding), then
// repeated starts with unchanged sources (time to "ready", as printed when all three parts answer
// and the demo is checked), and SIGTERM to the npm process until every port is free again.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, buildWorkers } from "../scripts/lib/build.ts";
import { freePort } from "../scripts/lib/redis-server.ts";
import { conditions, median, writeSection } from "./report.ts";

const WARM_STARTS = 5;

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1", () => {
      s.end();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

/** Starts `npm start`, returns ms to its ready line, then ms from SIGTERM until the ports are free. */
async function oneStart(env: Record<string, string>, ports: number[]): Promise<{ readyMs: number; printedS: number; stopMs: number; steps: Record<string, number> }> {
  const t0 = performance.now();
  const child = spawn("npm", ["start"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const ready = await new Promise<number>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c.toString();
      if (output.includes("Verge is running")) resolve(performance.now() - t0);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", () => reject(new Error(`npm start exited:\n${output}`)));
  });
  const printed = Number(/ready in ([\d.]+) s/.exec(output)?.[1]);
  // The stack's own trace (VERGE_TRACE_START): seconds from its first line to the end of each step.
  const steps = Object.fromEntries([...output.matchAll(/^\[start\] ([\d.]+) s (.+)$/gm)].map((m) => [m[2]!, Number(m[1])]));
  const t1 = performance.now();
  child.kill("SIGTERM");
  for (;;) {
    const open = await Promise.all(ports.map(listening));
    if (!open.some(Boolean)) break;
    if (performance.now() - t1 > 30_000) throw new Error("ports still held 30 s after SIGTERM");
    await new Promise((r) => setTimeout(r, 20));
  }
  const stopMs = performance.now() - t1;
  if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
  return { readyMs: ready, printedS: printed, stopMs, steps };
}

export async function benchStack(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "verge-bench-stack-"));
  const ports = { gateway: await freePort(), controlPlane: await freePort(), trainer: await freePort() };
  const env = {
    ...(process.env as Record<string, string>),
    VERGE_HOME: home,
    VERGE_GATEWAY_PORT: String(ports.gateway),
    VERGE_CONTROL_PLANE_PORT: String(ports.controlPlane),
    VERGE_TRAINER_PORT: String(ports.trainer),
    VERGE_TRACE_START: "1",
  };
  try {
    buildWorkers(); // the bundles are current before timing: the first start below still seeds everything
    const loadBefore = loadavg()[0]!;
    const first = await oneStart(env, Object.values(ports));
    const warm: Awaited<ReturnType<typeof oneStart>>[] = [];
    for (let i = 0; i < WARM_STARTS; i++) warm.push(await oneStart(env, Object.values(ports)));
    const s = (ms: number) => (ms / 1000).toFixed(2);
    const rows = [
      `| first start (empty state: migrations, demo seed, trainer credentials, churn data) | ${s(first.readyMs)} s | ${first.printedS.toFixed(1)} s | ${s(first.stopMs)} s |`,
      `| second and later starts, unchanged sources (median of ${WARM_STARTS}) | ${s(median(warm.map((w) => w.readyMs)))} s | ${median(warm.map((w) => w.printedS)).toFixed(1)} s | ${s(median(warm.map((w) => w.stopMs)))} s |`,
      `| fastest of those ${WARM_STARTS} | ${s(Math.min(...warm.map((w) => w.readyMs)))} s | ${Math.min(...warm.map((w) => w.printedS)).toFixed(1)} s | ${s(Math.min(...warm.map((w) => w.stopMs)))} s |`,
      `| slowest of those ${WARM_STARTS} | ${s(Math.max(...warm.map((w) => w.readyMs)))} s | ${Math.max(...warm.map((w) => w.printedS)).toFixed(1)} s | ${s(Math.max(...warm.map((w) => w.stopMs)))} s |`,
    ];
    const stepNames = Object.keys(warm[0]!.steps).filter((k) => !/stopped/.test(k));
    const stepRows = stepNames.map((k) => `| ${k} | ${median(warm.map((w) => w.steps[k] ?? NaN)).toFixed(2)} s |`);
    writeSection(
      "stack",
      `## Local stack: start and stop

${conditions(`Load average (1 min) ${loadBefore.toFixed(1)} before and ${loadavg()[0]!.toFixed(1)} after the run: other work shared the 2 cores.`)} \`npm start\` as a child process in a fresh \`VERGE_HOME\` on free ports; "to ready" runs from spawning \`npm\` until the stack prints that it is running (gateway, control plane and trainer all answering, the demo and the trainer's credentials checked); "printed" is the stack's own figure, from its first line of code; "stop" runs from SIGTERM to the npm process until no port of the three accepts a connection. Goals: ≤ 3 s to ready on a second start, ≤ 5 s to stop.

| start | to ready (from \`npm start\`) | printed | SIGTERM → ports free |
|---|---|---|---|
${rows.join("\n")}

Where a second start spends its time (median, seconds since the start process's first line; the trainer process starts at once and imports alongside):

| step done | at |
|---|---|
${stepRows.join("\n")}`,
    );
    console.log(rows.join("\n"));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
