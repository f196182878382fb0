// Origin nodes as child processes (the trainer's OIP server), so a test can kill one outright
// (SIGKILL: connections reset, nothing drains) and start it again on the same port.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../scripts/lib/build.ts";

export interface OriginProcess {
  port: number;
  child: ChildProcess;
  /** Counts of `verge_origin_requests_total` by status, read from the node's /metrics. */
  served(): Promise<number>;
  kill(): Promise<void>;
}

/** Lets the helper read each node's /metrics (which is otherwise signed). */
const METRICS_TOKEN = "fleet-metrics-token-0123456789";

export async function startOriginProcess(port: number, env: Record<string, string>): Promise<OriginProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/fixtures/origin-process.ts")], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), VERGE_EXECUTION_PROVIDER: "cpu", VERGE_METRICS_TOKEN: METRICS_TOKEN },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`origin on :${port} did not start within 60 s: ${stderr.slice(-500)}`)), 60_000);
    child.stdout!.on("data", (c: Buffer) => {
      if (c.toString().includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`origin on :${port} exited with ${code}: ${stderr.slice(-500)}`));
    });
  });
  return {
    port,
    child,
    async served() {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
      let total = 0;
      for (const m of text.matchAll(/^verge_origin_requests_total\{[^}]*status="200"[^}]*\} (\d+)/gm)) total += Number(m[1]);
      return total;
    },
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
