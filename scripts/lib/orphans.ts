// A killed `npm start` (SIGKILL, a crash) can leave its workerd and trainer running and holding
// the ports. The stack records the processes it started; the next start stops those, and only
// those (each must still be the same program, checked by its command line).
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** The child processes of this process whose command line contains `marker` (Linux; none elsewhere). */
export function ownChildPids(marker: string): number[] {
  if (!existsSync("/proc")) return [];
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && cmdline(Number(entry)).includes(marker)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export interface Recorded {
  pid: number;
  /** Part of its command line, checked before it is stopped (a pid may have been reused). */
  marker: string;
}

export function recordPids(file: string, processes: Recorded[]): void {
  writeFileSync(file, processes.map((p) => `${p.pid} ${p.marker}`).join("\n"));
}

export function forgetPids(file: string): void {
  rmSync(file, { force: true });
}

/**
 * Sends SIGKILL to the recorded processes still running the same program, and waits (up to 5 s)
 * until they are gone, so their ports are free; returns how many it stopped.
 */
export async function stopRecorded(file: string): Promise<number> {
  if (!existsSync(file)) return 0;
  const killed: Recorded[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [pid, ...rest] = line.trim().split(" ");
    const marker = rest.join(" ") || "workerd";
    if (!pid || !cmdline(Number(pid)).includes(marker)) continue;
    try {
      process.kill(Number(pid), "SIGKILL");
      killed.push({ pid: Number(pid), marker });
    } catch {
      // already gone
    }
  }
  // Gone means reaped or a zombie: a dying process loses its command line before its sockets.
  const alive = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 5000;
  while (killed.some((p) => alive(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  forgetPids(file);
  return killed.length;
}
