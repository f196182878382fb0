// `npm start` as a process, the way a developer runs it, in its own VERGE_HOME on free ports.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../scripts/lib/build.ts";
import { freePort } from "../scripts/lib/redis-server.ts";

export interface LocalStart {
  child: ChildProcess;
  output(): string;
  /** Resolves when the stack says it is running; rejects if the process exits first. */
  running: Promise<void>;
  exited: Promise<number | null>;
}

export async function localEnv(home = mkdtempSync(join(tmpdir(), "verge-home-"))): Promise<{ env: Record<string, string>; ports: number[]; home: string }> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...(process.env as Record<string, string>),
    VERGE_HOME: home,
    VERGE_GATEWAY_PORT: String(ports[0]),
    VERGE_CONTROL_PLANE_PORT: String(ports[1]),
    VERGE_TRAINER_PORT: String(ports[2]),
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
  return { env, ports, home };
}

export function npmStart(env: Record<string, string>): LocalStart {
  const child = spawn("npm", ["start"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes("Verge is running")) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`npm start exited (${code}):\n${output}`));
    });
  });
  running.catch(() => undefined);
  return { child, output: () => output, running, exited };
}

export const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1", () => {
      s.end();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
