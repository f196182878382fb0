// What can be checked here of running the trainer on a GPU node, without systemd running or a
// container engine: the systemd unit passes `systemd-analyze verify` (when installed) with no
// complaint and starts what exists; the Containerfile copies what exists and runs the trainer's
// entry with settings the trainer knows.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/build.ts";
import { CONFIG_KEYS } from "../src/config.ts";

const unit = readFileSync(join(ROOT, "trainer/deploy/verge-trainer.service"), "utf8");
const containerfile = readFileSync(join(ROOT, "trainer/deploy/Containerfile"), "utf8");
const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe("the systemd unit", () => {
  it.skipIf(!hasSystemdAnalyze)("passes systemd-analyze verify without a warning (installed at this checkout's path)", () => {
    const dir = mkdtempSync(join(tmpdir(), "verge-unit-"));
    const file = join(dir, "verge-trainer.service");
    // The same unit, pointed at this checkout and a user that exists here.
    writeFileSync(file, unit.replaceAll("/opt/verge", ROOT).replace(/^User=.*$/m, "User=root").replace(/^Group=.*$/m, "Group=root"));
    const res = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
    expect(res.stderr.trim()).toBe("");
    expect(res.status).toBe(0);
  });

  it("starts the trainer's entry point with the project's Node, keeps state in its own directory and stops by SIGTERM", () => {
    const exec = /^ExecStart=(\S+) (\S+)$/m.exec(unit)!;
    for (const path of [exec[1]!, exec[2]!]) expect(existsSync(path.replace("/opt/verge", ROOT))).toBe(true);
    expect(exec[2]).toBe("/opt/verge/trainer/bin/verge-trainer.mjs");
    expect(unit).toMatch(/^StateDirectory=verge-trainer$/m);
    expect(unit).toMatch(/^Environment=VERGE_TRAINER_STATE=\/var\/lib\/verge-trainer$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(CONFIG_KEYS).toContain("VERGE_TRAINER_STATE");
  });
});

describe("the Containerfile", () => {
  it("copies only what exists, runs the trainer's entry and sets only settings the trainer reads", () => {
    const copies = [...containerfile.matchAll(/^COPY (?!--)(.+) (\S+)$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copies.length).toBeGreaterThan(5);
    for (const source of copies) expect(existsSync(join(ROOT, source)), source).toBe(true);
    // Everything the trainer imports at run time is copied.
    for (const needed of ["shared/src", "trainer/src", "trainer/bin", "package-lock.json", "trainer/package.json", "shared/package.json"]) expect(copies).toContain(needed);
    expect(containerfile).toMatch(/^CMD \["node", "trainer\/bin\/verge-trainer\.mjs"\]$/m);
    const env = /^ENV ([\s\S]+?)\n(?!\s)/m.exec(containerfile)![1]!;
    const keys = [...env.matchAll(/(\w+)=/g)].map((m) => m[1]!).filter((k) => k !== "NODE_ENV");
    for (const key of keys) expect(CONFIG_KEYS).toContain(key);
    expect(containerfile).toContain("/v2/health/ready");
    expect(containerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(containerfile).toMatch(/^USER node$/m);
  });
});
