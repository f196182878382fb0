// The README as a newcomer uses it. Every `sh` block runs, in order, in one bash session against a
// freshly started `npm start` (so variables set by one block serve the next), and every command in
// it must succeed — curl included, which is made to fail on an HTTP error. A block that truly
// cannot run here carries `<!-- readme-test: skip: reason -->` on the line above it. And the
// configuration table lists every binding, secret and variable of both wrangler.toml files and
// every setting of the trainer.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../scripts/lib/build.ts";
import { bindingNames, workerConfig } from "../scripts/lib/wrangler-config.ts";
import { CONFIG_KEYS } from "../trainer/src/config.ts";
import { eventually } from "./helpers.ts";
import { localEnv, npmStart, type LocalStart } from "./local-process.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");

interface Block {
  line: number;
  code: string;
  skip?: string | undefined;
}

/** The README's `sh` blocks in order, with the skip reason written above any that is not run. */
export function shellBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash|shell)\s*$/.test(lines[i]!)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const above = lines[start - 1] ?? "";
    const skip = /^<!--\s*readme-test:\s*skip:?\s*(.*?)\s*-->$/.exec(above.trim());
    blocks.push({ line: start + 1, code: body.join("\n"), skip: skip ? skip[1] : undefined });
  }
  return blocks;
}

describe("the README's configuration table", () => {
  const rows = README.split("\n").filter((l) => /^\| (control plane|gateway|trainer) \| `/.test(l));
  const documented = (part: string, name: string) => rows.some((r) => r.startsWith(`| ${part} | \`${name}\` |`));

  it("lists every binding, secret and variable of each wrangler.toml", () => {
    for (const [part, key] of [["control plane", "controlPlane"], ["gateway", "gateway"]] as const) {
      const { bindings, vars, secrets } = bindingNames(workerConfig(key));
      const missing = [...bindings, ...vars, ...secrets].filter((name) => !documented(part, name));
      expect(missing, `add a row for each to the README's configuration table (${part})`).toEqual([]);
    }
  });

  it("lists the gateway's optional secrets and every setting of the trainer", () => {
    const optional = [...readFileSync(join(ROOT, "gateway/src/env.d.ts"), "utf8").matchAll(/^\s+(\w+)\?:/gm)].map((m) => m[1]!);
    expect(optional.length).toBeGreaterThan(0);
    expect(optional.filter((name) => !documented("gateway", name))).toEqual([]);
    expect(CONFIG_KEYS.filter((name) => !documented("trainer", name))).toEqual([]);
  });

  it("has a reason for every example it does not run", () => {
    const blocks = shellBlocks(README);
    expect(blocks.length).toBeGreaterThan(8);
    for (const b of blocks.filter((x) => x.skip !== undefined)) expect(b.skip, `README line ${b.line}`).toMatch(/\w{3,}/);
  });
});

describe("the README's examples", () => {
  let stack: LocalStart | undefined;
  let home: string | undefined;
  afterAll(async () => {
    if (stack && stack.child.exitCode === null) {
      stack.child.kill("SIGTERM");
      await stack.exited;
    }
    if (home) rmSync(home, { recursive: true, force: true });
    rmSync(join(ROOT, "model.onnx"), { force: true });
  });

  it("run in order against a fresh local stack, every command succeeding; its cron then runs by itself", { timeout: 900_000 }, async () => {
    const local = await localEnv();
    home = local.home;
    stack = npmStart(local.env);
    await stack.running;

    const bash = spawn("bash", ["--noprofile", "--norc"], { cwd: ROOT, env: local.env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    bash.stdout.on("data", (c: Buffer) => (out += c.toString()));
    bash.stderr.on("data", (c: Buffer) => (out += c.toString()));
    // curl fails on an HTTP error status (and still prints the body); any failing command marks the block.
    bash.stdin.write(`set -o pipefail\ncurl() { command curl --fail-with-body --no-progress-meter "$@"; }\n`);
    try {
      for (const [i, block] of shellBlocks(README).entries()) {
        if (block.skip !== undefined) continue;
        const marker = `__README_BLOCK_${i}_DONE__`;
        const from = out.length;
        bash.stdin.write(`__failed=""\ntrap '__failed="$__failed; $BASH_COMMAND"' ERR\n${block.code}\ntrap - ERR\necho; echo "${marker} [$__failed]"\n`);
        const deadline = Date.now() + 600_000;
        while (!out.includes(marker, from)) {
          if (bash.exitCode !== null) throw new Error(`bash exited in the block at README line ${block.line}:\n${out.slice(from)}`);
          if (Date.now() > deadline) throw new Error(`the block at README line ${block.line} did not finish:\n${out.slice(from)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const failed = new RegExp(`${marker} \\[(.*)\\]`).exec(out.slice(from))![1]!.replace(/^; /, "").trim();
        expect(failed, `README line ${block.line}: these commands failed:\n${failed}\n--- output ---\n${out.slice(from)}`).toBe("");
      }
    } finally {
      bash.stdin.end();
      bash.kill();
    }

    // The examples left a staged rollout of demo: the stack's own cron (actor "promotion-rules")
    // judges it within a minute, unasked, as production's would.
    const vars = Object.fromEntries(execFileSync("npm", ["run", "-s", "env"], { cwd: ROOT, env: local.env, encoding: "utf8" }).trim().split("\n").map((l) => /^export (\w+)='(.*)'$/.exec(l)!.slice(1, 3) as [string, string]));
    const judged = await eventually(async () => {
      const res = await fetch(`${vars.CP}/v1/audit?target=models/demo/rollouts&limit=50`, { headers: { authorization: `Bearer ${vars.ADMIN}` } });
      return ((await res.json()) as { entries: { actor: string; action: string }[] }).entries.find((e) => e.actor === "promotion-rules");
    }, 75_000, 1000);
    expect(judged.action).toMatch(/^rollout\./);
  });
});
