// Where the CLI connects and with which token: flags, then the environment, then a profile in
// the config file, then the local stack's defaults.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";

const profileSchema = z.object({ url: z.string().optional(), token: z.string().optional(), trainer_url: z.string().optional(), trainer_token: z.string().optional() });
const fileSchema = z.object({ profiles: z.record(z.string(), profileSchema).default({}) });
export type Profile = z.infer<typeof profileSchema>;

export interface GlobalOptions {
  url?: string;
  token?: string;
  trainerUrl?: string;
  trainerToken?: string;
  profile?: string;
  json?: boolean;
}

export interface Connection {
  url: string;
  token: string | undefined;
  trainerUrl: string;
  trainerToken: string | undefined;
  profile: string;
  /** Where each value came from, for `verge config` and error hints. */
  sources: Record<"url" | "token" | "trainerUrl" | "trainerToken", string>;
}

/** `VERGE_CONFIG`, else `$XDG_CONFIG_HOME/verge/config.json`, else `~/.config/verge/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.VERGE_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "verge", "config.json");
}

export function readConfig(path = configPath()): z.infer<typeof fileSchema> {
  if (!existsSync(path)) return { profiles: {} };
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new Error(`${path} is not valid JSON: fix it or delete it and run \`verge login\` again`);
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}: fix it or run \`verge login\` again`);
  return parsed.data;
}

export function saveProfile(name: string, profile: Profile, path = configPath()): void {
  const config = readConfig(path);
  config.profiles[name] = { ...config.profiles[name], ...profile };
  mkdirSync(dirname(path), { recursive: true });
  // The file holds tokens: readable by its owner only.
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

export function resolveConnection(o: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const profile = o.profile ?? env.VERGE_PROFILE ?? "default";
  const saved = readConfig(configPath(env)).profiles[profile] ?? {};
  const pick = (flag: string | undefined, envName: string, fromFile: string | undefined, fallback: string | undefined) =>
    flag !== undefined ? { value: flag, source: "flag" } : env[envName] ? { value: env[envName], source: envName } : fromFile !== undefined ? { value: fromFile, source: `profile ${profile}` } : { value: fallback, source: "default" };
  const url = pick(o.url, "VERGE_URL", saved.url, "http://127.0.0.1:8788");
  const token = pick(o.token, "VERGE_TOKEN", saved.token, undefined);
  const trainerUrl = pick(o.trainerUrl, "VERGE_TRAINER_URL", saved.trainer_url, "http://127.0.0.1:8789");
  // The trainer takes the control plane's tokens (with their roles): without a trainer token of its own, the same one.
  const ownTrainerToken = pick(o.trainerToken, "VERGE_TRAINER_TOKEN", saved.trainer_token, undefined);
  const trainerToken = ownTrainerToken.value === undefined && token.value !== undefined ? { value: token.value, source: `${token.source} (the control-plane token)` } : ownTrainerToken;
  return {
    url: url.value!.replace(/\/$/, ""),
    token: token.value,
    trainerUrl: trainerUrl.value!.replace(/\/$/, ""),
    trainerToken: trainerToken.value,
    profile,
    sources: { url: url.source, token: token.source, trainerUrl: trainerUrl.source, trainerToken: trainerToken.source },
  };
}
