// What a `command` job may do. Such a job runs a program on the trainer's host, so: only
// executables an operator of the host listed (VERGE_COMMAND_ALLOWLIST; none by default), a
// minimal environment that carries none of the trainer's credentials, and every secret the
// trainer holds blanked out of whatever the program prints before a client can read it.
import { createHash } from "node:crypto";
import { ApiError, type SubmitJob } from "@verge/shared";
import type { Config } from "../config.ts";

type CommandSpec = NonNullable<SubmitJob["command"]>;

/**
 * Throws unless `argv[0]` is on the allowlist: 403 while command jobs are off (empty list),
 * 400 naming the executable otherwise.
 */
export function checkCommandAllowed(command: CommandSpec, allowlist: readonly string[], field = "command.argv.0"): void {
  if (allowlist.length === 0) throw new ApiError("forbidden", "command jobs are off on this trainer: VERGE_COMMAND_ALLOWLIST lists no executable");
  const executable = command.argv[0]!;
  if (!allowlist.includes(executable)) throw new ApiError("bad_request", `${field}: ${JSON.stringify(executable)} is not in this trainer's VERGE_COMMAND_ALLOWLIST`);
}

/** Variables a command inherits from the trainer: what programs need to run, nothing more. */
const INHERITED = ["PATH", "HOME", "LANG", "TMPDIR"] as const;

/** The command's whole environment: the inherited basics, the job's own `env`, then the contract's variables. */
export function commandEnv(command: CommandSpec, contract: Record<string, string>, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const base: Record<string, string> = {};
  for (const name of INHERITED) if (from[name] !== undefined) base[name] = from[name]!;
  return { ...base, ...command.env, ...contract };
}

/** Every secret value in the trainer's configuration. */
export function configSecrets(config: Partial<Config>): string[] {
  return [
    config.VERGE_CONTROL_PLANE_TOKEN,
    config.VERGE_ORIGIN_SECRET,
    config.VERGE_TRAINER_TOKEN,
    config.VERGE_S3_ACCESS_KEY_ID,
    config.VERGE_S3_SECRET_ACCESS_KEY,
    config.UPSTASH_REDIS_REST_TOKEN,
    config.CLOUDFLARE_API_TOKEN,
    config.VERGE_ALERT_WEBHOOK_SECRET,
  ].filter((s): s is string => typeof s === "string" && s.length > 0);
}

/** `text` with each secret's every occurrence replaced by `[redacted]`, longest first (one may contain another). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(s).join("[redacted]");
  return out;
}

/**
 * How lineage names a command: the executable and a digest of the whole argv, so the version can
 * be traced to its run without arguments (which may carry anything) reaching every viewer.
 */
export function commandLineage(command: CommandSpec): { executable: string; argv_sha256: string } {
  return { executable: command.argv[0]!, argv_sha256: createHash("sha256").update(JSON.stringify(command.argv)).digest("hex") };
}
