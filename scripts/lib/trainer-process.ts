// The trainer as its own process, started the way an operator starts it (`npm run trainer`'s
// entry), for the local stack and the end-to-end tests.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./build.ts";

export const TRAINER_ENTRY = join(ROOT, "trainer/src/main.ts");

export interface TrainerProcess {
  child: ChildProcess;
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when it answers readiness; rejects with its output if it exits first. */
  ready: Promise<void>;
  /** Resolves with its exit code. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnTrainer(env: Record<string, string>, o: { onLine?: (line: string) => void; readyTimeoutMs?: number } = {}): TrainerProcess {
  // One process (node with tsx's loader), so its pid is the trainer's own and signals reach it directly.
  const child = spawn(process.execPath, ["--import", "tsx", TRAINER_ENTRY], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let rest = "";
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) o.onLine?.(line);
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://${env.HOST ?? "127.0.0.1"}:${env.PORT ?? "8789"}`;
  const ready = (async () => {
    const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
    let gone = false;
    void exited.then(() => (gone = true));
    for (;;) {
      if (gone) throw new Error(`the trainer exited (${child.exitCode}):\n${output}`);
      const ok = await fetch(`${url}/v2/health/ready`).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`the trainer did not become ready within ${o.readyTimeoutMs ?? 60_000} ms:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  ready.catch(() => undefined);
  return {
    child,
    url,
    output: () => output,
    ready,
    exited,
    async stop(graceMs = 4000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
