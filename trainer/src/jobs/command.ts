// Custom training programs (`algorithm: "command"`). The contract, also in the README:
//   in:  {train} a CSV of the encoded training rows (one column per input column, then `label`),
//        {params} a JSON file with the job's params, {output} an empty folder; the same paths are
//        in VERGE_TRAIN_PATH, VERGE_PARAMS_PATH, VERGE_OUTPUT_DIR, with VERGE_INPUT_WIDTH.
//   out: {output}/model.onnx taking FP32 [-1, width] and giving one output [-1, 1], and
//        {output}/metrics.json, an object of numbers. Lines `progress <0..1>` on stdout move the bar.
// A non-zero exit, a timeout, a missing or invalid file fails the job with the reason.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { writeFile } from "node:fs/promises";
import { z } from "zod";
import type { SubmitJob } from "@verge/shared";
import { checkCommandAllowed, commandEnv, redact } from "./command-policy.ts";
import { JobFailure } from "./runner.ts";

export interface CommandInput {
  dir: string;
  command: NonNullable<SubmitJob["command"]>;
  params: Record<string, unknown>;
  columns: readonly string[];
  x: Float32Array;
  y: Float32Array;
  rows: number;
  signal: AbortSignal;
  progress(fraction: number, message?: string): void;
  /** Executables that may run (VERGE_COMMAND_ALLOWLIST), checked again here: a job may come from a schedule or a playbook. */
  allowlist: readonly string[];
  /** Every secret the trainer holds, blanked out of the output a failed job reports. */
  secrets(): readonly string[];
}

/** The most of a command's output kept in its job folder. */
const LOG_LIMIT = 64 * 1024 * 1024;

const metricsSchema = z.record(z.string().max(64), z.number());

export async function runCommand(input: CommandInput): Promise<{ onnx: Uint8Array; metrics: Record<string, number> }> {
  try {
    checkCommandAllowed(input.command, input.allowlist);
  } catch (err) {
    throw new JobFailure(`command: ${(err as Error).message}`);
  }
  const work = join(input.dir, "command");
  const output = join(work, "output");
  mkdirSync(output, { recursive: true, mode: 0o700 });
  const train = join(work, "train.csv");
  const paramsPath = join(work, "params.json");
  await writeCsv(train, input);
  await writeFile(paramsPath, JSON.stringify(input.params), { mode: 0o600 });
  const paths: Record<string, string> = { train, params: paramsPath, output };
  const argv = input.command.argv.map((a) => a.replace(/\{(train|params|output)\}/g, (_, k: string) => paths[k]!));
  const log = createWriteStream(join(work, "output.log"), { mode: 0o600 });
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: work,
    // Never the trainer's own environment: it holds the control-plane token and every storage credential.
    env: commandEnv(input.command, { VERGE_TRAIN_PATH: train, VERGE_PARAMS_PATH: paramsPath, VERGE_OUTPUT_DIR: output, VERGE_INPUT_WIDTH: String(input.columns.length) }),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so cancelling stops everything it started
  });
  const stop = () => {
    if (child.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop();
  }, input.command.timeout_s * 1000);
  input.signal.addEventListener("abort", stop, { once: true });
  let tail = "";
  // A throw in a stream handler would be uncaught and end the trainer; a failed write (a full
  // disk) is an 'error' event that, unheard, does the same. Either fails this job instead.
  let broken: string | undefined;
  const fail = (what: string, err: unknown) => {
    broken ??= `${what}: ${(err as Error).message ?? String(err)}`;
    stop();
  };
  log.on("error", (err) => fail("could not write its output log", err));
  // Output is kept up to LOG_LIMIT bytes; a program that floods it is slowed to the disk's pace
  // (its pipe is paused while the log catches up) rather than buffered in the trainer's memory.
  let logged = 0;
  const record = (from: NodeJS.ReadableStream, chunk: Buffer) => {
    if (logged >= LOG_LIMIT) return;
    logged += chunk.length;
    const ok = log.write(logged >= LOG_LIMIT ? Buffer.concat([chunk, Buffer.from("\n[output truncated]\n")]) : chunk);
    if (!ok) {
      from.pause();
      log.once("drain", () => from.resume());
    }
  };
  child.stdout.on("data", (chunk: Buffer) => {
    try {
      record(child.stdout, chunk);
      for (const m of chunk.toString().matchAll(/^progress\s+([0-9.]+)\s*(.*)$/gm)) {
        const f = Number(m[1]);
        if (f >= 0 && f <= 1) input.progress(f, m[2] ? redact(m[2], input.secrets()) : undefined);
      }
    } catch (err) {
      fail("could not record its progress", err);
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    try {
      record(child.stderr, chunk);
      tail = (tail + chunk.toString()).slice(-2000);
    } catch (err) {
      fail("could not record its output", err);
    }
  });
  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on("error", (error) => resolve({ code: null, error }));
    child.on("close", (code) => resolve({ code }));
  });
  clearTimeout(timer);
  input.signal.removeEventListener("abort", stop);
  log.end();
  if (input.signal.aborted) throw input.signal.reason;
  if (broken) throw new JobFailure(`command: ${broken}`);
  if (exit.error) throw new JobFailure(`command: could not start ${argv[0]} (${exit.error.message})`);
  if (timedOut) throw new JobFailure(`command: timed out after ${input.command.timeout_s} s`);
  if (exit.code !== 0) {
    const last = redact(tail, input.secrets()).trim().split("\n").slice(-5).join(" | ");
    throw new JobFailure(`command: exited with ${exit.code}${last ? `; its last output: ${last}` : ""}`);
  }
  const modelPath = join(output, "model.onnx");
  if (!existsSync(modelPath)) throw new JobFailure("command: it exited without writing model.onnx to {output}");
  const metricsPath = join(output, "metrics.json");
  let metrics: Record<string, number> = {};
  if (existsSync(metricsPath)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(metricsPath, "utf8"));
    } catch {
      throw new JobFailure("command: metrics.json is not JSON");
    }
    const parsed = metricsSchema.safeParse(raw);
    if (!parsed.success) throw new JobFailure("command: metrics.json must be an object of numbers with names up to 64 characters");
    metrics = parsed.data;
  } else {
    throw new JobFailure("command: it exited without writing metrics.json to {output}");
  }
  return { onnx: new Uint8Array(readFileSync(modelPath)), metrics };
}

/** Written through a stream pipeline, so a failed write (a full disk) rejects here instead of going unheard. */
async function writeCsv(path: string, input: CommandInput): Promise<void> {
  const w = input.columns.length;
  function* lines() {
    yield `${[...input.columns.map((c) => JSON.stringify(c)), "label"].join(",")}\n`;
    for (let r = 0; r < input.rows; r++) {
      let line = "";
      for (let c = 0; c < w; c++) line += `${input.x[r * w + c]},`;
      yield `${line}${input.y[r]}\n`;
    }
  }
  try {
    await pipeline(Readable.from(lines()), createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    throw new JobFailure(`command: could not write the training set (${(err as Error).message})`);
  }
}
