// Command jobs at the trust boundary: only listed executables, a minimal environment, output
// redacted of the trainer's secrets, and nothing a program prints or a full disk does can end
// the trainer process: the job fails with the reason instead.
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { submitJobSchema } from "@verge/shared";
import { runCommand, type CommandInput } from "../src/jobs/command.ts";
import { checkCommandAllowed, commandEnv, configSecrets, redact } from "../src/jobs/command-policy.ts";
import { JobFailure, JobRunner } from "../src/jobs/runner.ts";
import { JobStore } from "../src/jobs/store.ts";
import { PlaybookStore } from "../src/playbook/playbook.ts";
import { loadConfig } from "../src/config.ts";

const NODE = process.execPath;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "verge-command-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = "cp-token-very-secret-0123456789";
function input(script: string, over: Partial<CommandInput> = {}): CommandInput {
  return {
    dir,
    command: { argv: [NODE, "-e", script], timeout_s: 60, env: {} },
    params: {},
    columns: ["a", "b"],
    x: new Float32Array([1, 2, 3, 4]),
    y: new Float32Array([0, 1]),
    rows: 2,
    signal: new AbortController().signal,
    progress: () => undefined,
    allowlist: [NODE],
    secrets: () => [SECRET],
    ...over,
  };
}
const failure = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(JobFailure);
  return (err as Error).message;
};

describe("what a command may run and see", () => {
  it("runs only executables on the allowlist; none by default", async () => {
    expect(loadConfig({ VERGE_CONTROL_PLANE_TOKEN: "t", VERGE_ORIGIN_SECRET: "0123456789abcdef" }).VERGE_COMMAND_ALLOWLIST).toEqual([]);
    expect(() => checkCommandAllowed({ argv: ["/bin/sh"], timeout_s: 1, env: {} }, [])).toThrow(/VERGE_COMMAND_ALLOWLIST/);
    expect(() => checkCommandAllowed({ argv: ["/bin/sh"], timeout_s: 1, env: {} }, [NODE])).toThrow(/command\.argv\.0: "\/bin\/sh" is not in .*VERGE_COMMAND_ALLOWLIST/);
    // Checked again where it runs (a schedule or a playbook may have submitted it).
    expect(await failure(runCommand(input("process.exit(0)", { allowlist: ["/bin/true"] })))).toMatch(/not in this trainer's VERGE_COMMAND_ALLOWLIST/);
  });

  it("gets PATH, HOME, LANG, TMPDIR, its own env and the contract's variables, never the trainer's", () => {
    const env = commandEnv({ argv: [NODE], timeout_s: 1, env: { MINE: "1" } }, { VERGE_TRAIN_PATH: "/t" }, { PATH: "/bin", HOME: "/root", VERGE_CONTROL_PLANE_TOKEN: SECRET, AWS_SECRET_ACCESS_KEY: "x" });
    expect(env).toEqual({ PATH: "/bin", HOME: "/root", MINE: "1", VERGE_TRAIN_PATH: "/t" });
  });

  it("a program dumping its environment and the secrets it found shows neither to clients", async () => {
    process.env.VERGE_TEST_LEAK = SECRET;
    try {
      const message = await failure(runCommand(input(`console.error(Object.keys(process.env).sort().join(","), process.env.VERGE_TEST_LEAK ?? "none", ${JSON.stringify(SECRET)}); process.exit(3)`)));
      expect(message).toMatch(/exited with 3/);
      expect(message).not.toContain(SECRET);
      expect(message).toContain("[redacted]");
      const keys = /last output: ([A-Z_,]+)/.exec(message)![1]!.split(",");
      for (const k of keys) expect(["PATH", "HOME", "LANG", "TMPDIR", "VERGE_TRAIN_PATH", "VERGE_PARAMS_PATH", "VERGE_OUTPUT_DIR", "VERGE_INPUT_WIDTH"]).toContain(k);
      expect(message).toContain(" none ");
    } finally {
      delete process.env.VERGE_TEST_LEAK;
    }
  });

  it("redacts every configured secret, longest first", () => {
    const secrets = configSecrets(loadConfig({ VERGE_CONTROL_PLANE_TOKEN: "cp-0123456789", VERGE_ORIGIN_SECRET: "origin-0123456789abcdef", UPSTASH_REDIS_REST_TOKEN: "up-0123456789", CLOUDFLARE_API_TOKEN: "cf-0123456789", VERGE_S3_SECRET_ACCESS_KEY: "s3-0123456789", VERGE_ALERT_WEBHOOK_ID: "1", VERGE_ALERT_WEBHOOK_SECRET: "hook-0123456789abcdef" }));
    expect(secrets).toHaveLength(6);
    expect(redact(secrets.join(" and "), secrets)).toBe(Array(6).fill("[redacted]").join(" and "));
  });
});

describe("nothing a command does ends the trainer", () => {
  it("a program flooding stdout and stderr fails with its reason", async () => {
    const flood = "const s = 'x'.repeat(1 << 16); for (let i = 0; i < 300; i++) { process.stdout.write(s); process.stderr.write(s); } process.exit(4)";
    const message = await failure(runCommand(input(flood)));
    expect(message).toMatch(/exited with 4; its last output: x+$/);
    expect(message.length).toBeLessThan(2200);
  });

  it("a full disk under its output log fails the job, not the process", async () => {
    // /dev/full answers every write with ENOSPC, as a full disk does.
    mkdirSync(join(dir, "command"), { recursive: true });
    symlinkSync("/dev/full", join(dir, "command", "output.log"));
    const message = await failure(runCommand(input("process.stdout.write('hello\\n'.repeat(1000)); setTimeout(() => {}, 30000)")));
    expect(message).toMatch(/could not write its output log: .*ENOSPC/);
  });

  it("a throw while recording its progress fails the job, not the process", async () => {
    const progress = () => {
      throw new Error("ENOSPC: no space left on device");
    };
    const message = await failure(runCommand(input("console.log('progress 0.5 halfway'); setTimeout(() => {}, 30000)", { progress })));
    expect(message).toMatch(/could not record its progress: ENOSPC/);
  });

  it("a job whose end cannot be written (full disk) is failed with both reasons, and the runner goes on", async () => {
    const store = new JobStore(dir);
    const runner = new JobRunner(store, async (job) => {
      // The disk fills while the job runs: its event log can no longer be appended to.
      rmSync(join(job.dir, "events.ndjson"));
      symlinkSync("/dev/full", join(job.dir, "events.ndjson"));
      throw new JobFailure("bad data");
    }, 1);
    await runner.start();
    const body = { model: "m", algorithm: "logreg", dataset: { labels: { path: "l.parquet" } }, feature_spec: { features: [{ name: "x", type: "number", default: 0 }] } };
    await runner.submit(submitJobSchema.parse({ ...body, id: "full" }));
    await runner.whenIdle();
    expect(runner.get("full")).toMatchObject({ phase: "failed", error: expect.stringMatching(/^bad data; its state could not be saved \(ENOSPC/) });
    // Its state was written before the event log failed: a restart reads it back as failed.
    const again = new JobRunner(new JobStore(dir), async () => undefined, 1);
    rmSync(join(store.dir("full"), "events.ndjson"));
    await again.start();
    expect(again.get("full")).toMatchObject({ phase: "failed", error: "bad data" });
  });
});

describe("secret-bearing files", () => {
  it("job state and playbooks (with the webhook secret) are 0600 in 0700 folders", async () => {
    const state = join(dir, "state");
    const store = new JobStore(state);
    const runner = new JobRunner(store, async (job) => void job.store.writeFile(job.id, "report.json", "{}"), 1);
    await runner.start();
    await runner.submit(submitJobSchema.parse({ id: "j", model: "m", algorithm: "command", command: { argv: [NODE], env: { TOKEN: "x" } }, dataset: { labels: { path: "l.parquet" } }, feature_spec: { features: [{ name: "x", type: "number", default: 0 }] } }));
    await runner.whenIdle();
    const playbooks = new PlaybookStore(state);
    playbooks.state.webhook = { id: "1", secret: "hook-secret-0123456789", url: "http://x" };
    playbooks.save();
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect([state, store.root, store.dir("j")].map(mode)).toEqual([0o700, 0o700, 0o700]);
    expect(["job.json", "events.ndjson", "report.json"].map((f) => mode(join(store.dir("j"), f)))).toEqual([0o600, 0o600, 0o600]);
    expect(mode(join(state, "playbooks.json"))).toBe(0o600);
  });
});
