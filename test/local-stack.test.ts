// `npm start` as a developer, an IDE or a process manager runs it: a signal to the npm process
// stops everything it started and frees the ports; a start killed outright is cleaned up by the
// next one; a port already taken is refused by name; `npm run env` hands the tokens to a shell.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/build.ts";
import { everyMinute } from "../scripts/lib/local.ts";
import { eventually } from "./helpers.ts";
import { accepting, localEnv, npmStart, type LocalStart } from "./local-process.ts";

const homes: string[] = [];
const started: LocalStart[] = [];
afterAll(() => {
  for (const s of started) if (s.child.exitCode === null) s.child.kill("SIGTERM");
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

/** The `node … scripts/start.ts` process that npm runs (npm's own child). */
function startProcess(npmPid: number): number {
  for (const entry of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === npmPid && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("scripts/start.ts")) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error("no start process under npm");
}

describe("npm start", () => {
  it("SIGTERM to npm stops everything and frees the ports; leftovers of a killed start are stopped by the next", async () => {
    const { env, ports, home } = await localEnv();
    homes.push(home);
    const first = npmStart(env);
    started.push(first);
    await first.running;
    expect(await Promise.all(ports.map(accepting))).toEqual([true, true, true]);
    // The tokens a README example needs, for a shell.
    const exports = execFileSync("npm", ["run", "-s", "env"], { cwd: ROOT, env, encoding: "utf8" });
    expect(exports).toContain(`export GW='http://127.0.0.1:${ports[0]}'`);
    expect(exports).toMatch(/export ADMIN='vadm_[0-9a-f]+'\nexport KEY='vk_[0-9a-f]+'\nexport TT='vtr_[0-9a-f]+'/);
    // The trainer holds an operator token, not the admin token.
    const secrets = JSON.parse(readFileSync(`${home}/local-secrets.json`, "utf8")) as { adminToken: string; trainer: { operatorToken: string } };
    const trainerPid = Number(readFileSync(`${home}/pids`, "utf8").split("\n").find((l) => l.includes("trainer/src/main.ts"))!.split(" ")[0]);
    const trainerEnv = readFileSync(`/proc/${trainerPid}/environ`, "utf8");
    expect(trainerEnv).toContain(`VERGE_CONTROL_PLANE_TOKEN=${secrets.trainer.operatorToken}`);
    expect(trainerEnv).not.toContain(secrets.adminToken);

    // Killed outright (no chance to clean up): its workerd and trainer keep the ports…
    process.kill(startProcess(first.child.pid!), "SIGKILL");
    await first.exited;
    expect(await Promise.all(ports.map(accepting))).toEqual([true, true, true]);
    // …until the next start stops exactly those and takes over.
    const second = npmStart(env);
    started.push(second);
    await second.running;
    expect(second.output()).toContain("stopped the processes a previous start left running");

    second.child.kill("SIGTERM");
    // npm passes the signal on, waits for the stack, then reports the signal itself (128 + 15).
    expect([0, 143]).toContain(await second.exited);
    await eventually(async () => ((await Promise.all(ports.map(accepting))).every((open) => !open) ? true : undefined), 10_000, 50);
    await eventually(async () => (readdirSync(home).includes("pids") ? undefined : true), 10_000, 50);
  });

  it("refuses a port already in use, naming it and the variable that moves it", async () => {
    const { env, ports, home } = await localEnv();
    homes.push(home);
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(ports[1], "127.0.0.1", () => r()));
    try {
      const s = npmStart(env);
      started.push(s);
      expect(await s.exited).toBe(1);
      expect(s.output()).toContain(`port ${ports[1]} (controlPlane) is already in use`);
      expect(s.output()).toContain("VERGE_CONTROL_PLANE_PORT");
      expect(s.output()).not.toMatch(/EADDRINUSE/);
    } finally {
      holder.close();
    }
  });
});

describe("the local cron", () => {
  it("ticks at the start of every minute with that minute as its scheduled time", async () => {
    const { vi } = await import("vitest");
    vi.useFakeTimers({ now: Date.parse("2026-11-30T10:00:42.000Z") });
    try {
      const ticks: string[] = [];
      const stop = everyMinute(async (at) => void ticks.push(at.toISOString()));
      await vi.advanceTimersByTimeAsync(17_000);
      expect(ticks).toEqual([]);
      await vi.advanceTimersByTimeAsync(2 * 60_000);
      expect(ticks).toEqual(["2026-11-30T10:01:00.000Z", "2026-11-30T10:02:00.000Z"]);
      stop();
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      expect(ticks).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
