// A crashed `npm start` leaves its workerd running (it outlives its parent) and holding the
// ports. The stack records the workerd it started; the next start stops that one, and only it.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";

function isWorkerd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("workerd");
  } catch {
    return false;
  }
}

/** The workerd processes whose parent is this process (Linux; none elsewhere). */
export function ownWorkerdPids(): number[] {
  if (!existsSync("/proc")) return [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && isWorkerd(Number(entry))) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export function recordPids(file: string, pids: number[]): void {
  writeFileSync(file, pids.join("\n"));
}

/** Stops the workerd processes a previous run recorded, if they are still workerd. */
export function stopRecorded(file: string): number {
  if (!existsSync(file)) return 0;
  let stopped = 0;
  for (const pid of readFileSync(file, "utf8").split("\n").map(Number).filter(Boolean)) {
    if (!isWorkerd(pid)) continue;
    try {
      process.kill(pid, "SIGTERM");
      stopped++;
    } catch {
      // already gone
    }
  }
  return stopped;
}
