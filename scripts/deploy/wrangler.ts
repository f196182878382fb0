// Running wrangler: the one process boundary the setup and deploy commands cross. Everything
// they do in a Cloudflare account goes through here. `VERGE_WRANGLER` names another executable
// in its place; the tests use that to stand in for Cloudflare's API, which cannot be reached here.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../lib/build.ts";

export interface WranglerResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export type Wrangler = (args: string[], options?: { input?: string; inherit?: boolean }) => WranglerResult;

export function wranglerCli(root = ROOT): Wrangler {
  const bin = process.env.VERGE_WRANGLER ?? join(ROOT, "node_modules/.bin/wrangler");
  return (args, options = {}) => {
    const res = spawnSync(bin, args, {
      cwd: root,
      input: options.input,
      stdio: options.inherit ? ["pipe", "inherit", "inherit"] : "pipe",
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (res.error) throw new Error(`wrangler ${args.join(" ")}: ${res.error.message}`);
    return { ok: res.status === 0, stdout: res.stdout ?? "", stderr: res.stderr ?? "" };
  };
}

/** Runs and throws with wrangler's own output when it fails. */
export function must(wrangler: Wrangler, args: string[], options?: { input?: string; inherit?: boolean }): string {
  const res = wrangler(args, options);
  if (!res.ok) throw new Error(`\`wrangler ${args.join(" ")}\` failed:\n${res.stderr || res.stdout}`);
  return res.stdout;
}

/** The JSON a command printed (wrangler may print banners or warnings around it). */
export function jsonOutput<T>(text: string): T {
  const start = text.search(/[[{]/);
  const end = Math.max(text.lastIndexOf("]"), text.lastIndexOf("}"));
  if (start < 0 || end < start) throw new Error(`expected JSON from wrangler, got: ${text.slice(0, 300)}`);
  return JSON.parse(text.slice(start, end + 1)) as T;
}
