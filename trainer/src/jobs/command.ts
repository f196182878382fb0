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
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { z } from "zod";
import type { SubmitJob } from "@verge/shared";
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
}

const metricsSchema = z.record(z.string().max(64), z.number());

export async function runCommand(input: CommandInput): Promise<{ onnx: Uint8Array; metrics: Record<string, number> }> {
  const work = join(input.dir, "command");
  const output = join(work, "output");
  mkdirSync(output, { recursive: true });
  const train = join(work, "train.csv");
  const paramsPath = join(work, "params.json");
  await writeCsv(train, input);
  await writeFile(paramsPath, JSON.stringify(input.params));
  const paths: Record<string, string> = { train, params: paramsPath, output };
  const argv = input.command.argv.map((a) => a.replace(/\{(train|params|output)\}/g, (_, k: string) => paths[k]!));
  const log = createWriteStream(join(work, "output.log"));
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: work,
    env: { ...process.env, ...input.command.env, VERGE_TRAIN_PATH: train, VERGE_PARAMS_PATH: paramsPath, VERGE_OUTPUT_DIR: output, VERGE_INPUT_WIDTH: String(input.columns.length) },
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
  child.stdout.on("data", (chunk: Buffer) => {
    log.write(chunk);
    for (const m of chunk.toString().matchAll(/^progress\s+([0-9.]+)\s*(.*)$/gm)) {
      const f = Number(m[1]);
      if (f >= 0 && f <= 1) input.progress(f, m[2] || undefined);
    }
  });
  child.stderr.on("data", (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-2000);
  });
  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on("error", (error) => resolve({ code: null, error }));
    child.on("close", (code) => resolve({ code }));
  });
  clearTimeout(timer);
  input.signal.removeEventListener("abort", stop);
  log.end();
  if (input.signal.aborted) throw input.signal.reason;
  if (exit.error) throw new JobFailure(`command: could not start ${argv[0]} (${exit.error.message})`);
  if (timedOut) throw new JobFailure(`command: timed out after ${input.command.timeout_s} s`);
  if (exit.code !== 0) throw new JobFailure(`command: exited with ${exit.code}${tail ? `; its last output: ${tail.trim().split("\n").slice(-5).join(" | ")}` : ""}`);
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

async function writeCsv(path: string, input: CommandInput): Promise<void> {
  const out = createWriteStream(path);
  const header = [...input.columns.map((c) => JSON.stringify(c)), "label"].join(",");
  out.write(`${header}\n`);
  const w = input.columns.length;
  for (let r = 0; r < input.rows; r++) {
    let line = "";
    for (let c = 0; c < w; c++) line += `${input.x[r * w + c]},`;
    if (!out.write(`${line}${input.y[r]}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}
