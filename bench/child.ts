// A benchmark's server in a process of its own, so the load generator shares no event loop with
// it: a TypeScript entry run with tsx that prints `{"port": N}` once listening. Also reads a
// process's CPU time from /proc, for CPU per request of a process the benchmark did not write
// (workerd).
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { ROOT } from "../scripts/lib/build.ts";

export interface ChildServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startChildServer(entry: string, settings: unknown): Promise<ChildServer> {
  const child = spawn(process.execPath, ["--import", "tsx", entry, JSON.stringify(settings)], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${entry} exited (${code}) before listening`)));
    lines.once("line", (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return { port, child, stop };
}

const TICKS_PER_SECOND = 100;

/** User + system CPU time of a process, in ms (Linux /proc, 10 ms resolution). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** This process's children running `command` (e.g. the workerd processes miniflare started). */
export function childPids(command: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === command && ppid === process.pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
