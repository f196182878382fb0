// Pieces of `npm start`: where its state lives, its ports and secrets, the trainer's control-plane
// credentials, and the cron that production runs every minute.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { randomToken } from "@verge/shared/crypto";
import type { ControlPlaneClient } from "@verge/client";
import { ROOT } from "./build.ts";

/** Everything `npm start` keeps: worker state, trainer state, offline data, secrets. */
export const HOME = process.env.VERGE_HOME ?? join(ROOT, ".verge");

export interface Ports {
  gateway: number;
  controlPlane: number;
  trainer: number;
}

export function localPorts(env = process.env): Ports {
  return { gateway: Number(env.VERGE_GATEWAY_PORT ?? 8787), controlPlane: Number(env.VERGE_CONTROL_PLANE_PORT ?? 8788), trainer: Number(env.VERGE_TRAINER_PORT ?? 8789) };
}

/**
 * Fails with a plain message naming the port, its owner in the stack and the variable that moves
 * it; waits up to `waitMs` first (processes just stopped release their sockets as they finish exiting).
 */
export async function assertPortsFree(ports: Ports, waitMs = 0): Promise<void> {
  const vars = { gateway: "VERGE_GATEWAY_PORT", controlPlane: "VERGE_CONTROL_PLANE_PORT", trainer: "VERGE_TRAINER_PORT" } as const;
  const deadline = Date.now() + waitMs;
  for (const [part, port] of Object.entries(ports) as [keyof Ports, number][]) {
    const isFree = () =>
      new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once("error", () => resolve(false));
        s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
      });
    let free = await isFree();
    while (!free && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      free = await isFree();
    }
    if (!free) throw new Error(`port ${port} (${part}) is already in use: stop whatever holds it (another \`npm start\`?) or choose another port with ${vars[part]}`);
  }
}

export interface LocalSecrets {
  adminToken: string;
  clientKey: string;
  gatewayToken: string;
  trainerToken: string;
  originSecret: string;
  /** What a Prometheus scraper shows the origin's /metrics (it cannot sign). */
  metricsToken: string;
  /** The local stand-in for Cloudflare's API checks this token. */
  cloudflareApiToken: string;
  /** The trainer's control-plane credentials, created by the seed: an operator token and its alert webhook. */
  trainer?: { operatorToken: string; webhookId: string; webhookSecret: string };
}

const secretsFile = () => join(HOME, "local-secrets.json");

/** Tokens from the environment, else the ones generated on a previous start, else new ones. */
export function loadSecrets(env = process.env): LocalSecrets {
  const saved = existsSync(secretsFile()) ? (JSON.parse(readFileSync(secretsFile(), "utf8")) as Partial<LocalSecrets>) : {};
  const s: LocalSecrets = {
    adminToken: env.VERGE_ADMIN_TOKEN ?? saved.adminToken ?? randomToken("vadm"),
    clientKey: env.VERGE_DEMO_CLIENT_KEY ?? saved.clientKey ?? randomToken("vk"),
    gatewayToken: saved.gatewayToken ?? randomToken("vgw"),
    trainerToken: env.VERGE_TRAINER_TOKEN ?? saved.trainerToken ?? randomToken("vtr"),
    originSecret: saved.originSecret ?? randomToken("vos"),
    metricsToken: env.VERGE_METRICS_TOKEN ?? saved.metricsToken ?? randomToken("vmt"),
    cloudflareApiToken: saved.cloudflareApiToken ?? randomToken("vcf"),
    ...(saved.trainer ? { trainer: saved.trainer } : {}),
  };
  saveSecrets(s);
  return s;
}

export function saveSecrets(s: LocalSecrets): void {
  mkdirSync(HOME, { recursive: true });
  writeFileSync(secretsFile(), JSON.stringify(s, null, 2), { mode: 0o600 });
}

/**
 * The trainer's own control-plane credentials: an operator token (never the admin token) and the
 * alert webhook it answers. Reuses saved ones while the control plane still knows them.
 */
export async function trainerCredentials(
  admin: ControlPlaneClient,
  saved: LocalSecrets["trainer"],
  hookUrl: string,
  clientWith: (token: string) => ControlPlaneClient,
): Promise<{ credentials: NonNullable<LocalSecrets["trainer"]>; created: boolean }> {
  if (saved) {
    const tokenOk = (await clientWith(saved.operatorToken).raw("GET", "/v1/models")).status === 200;
    const hooks = await admin.ok("GET", "/v1/webhooks");
    if (tokenOk && hooks.webhooks.some((w) => w.id === saved.webhookId && w.url === hookUrl)) return { credentials: saved, created: false };
  }
  const token = await admin.ok("POST", "/v1/tokens", { name: "local trainer", role: "operator" });
  const hook = await admin.ok("POST", "/v1/webhooks", { url: hookUrl });
  return { credentials: { operatorToken: token.token, webhookId: hook.id, webhookSecret: hook.secret }, created: true };
}

/**
 * Runs `tick` at the start of every minute, as Cloudflare runs a `* * * * *` cron trigger.
 * Returns the function that stops it.
 */
export function everyMinute(tick: (scheduledTime: Date) => Promise<void>): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      const at = new Date(Math.floor(Date.now() / 60_000) * 60_000);
      await tick(at).catch((err: unknown) => console.error(`cron: ${(err as Error).message}`));
      schedule();
    }, 60_000 - (Date.now() % 60_000) + 50);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
