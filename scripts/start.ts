// `npm start`: the local stack, run like production. Both workers in workerd from their deploy
// bundles (rebuilt only when their sources changed) with state under $VERGE_HOME (.verge), the
// trainer as its own process (the same entry as `npm run trainer`) with an operator token, the
// control plane's cron every minute, and the demo seeded on first start. SIGINT or SIGTERM stops
// everything it started.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { controlPlaneClient } from "@verge/client";
import { buildWorkers, WORKERS } from "./lib/build.ts";
import { localCloudflareApiUrl } from "./lib/cloudflare-api.ts";
import { assertPortsFree, everyMinute, HOME, loadSecrets, localPorts, saveSecrets, trainerCredentials, type LocalSecrets } from "./lib/local.ts";
import { ownChildPids, forgetPids, recordPids, stopRecorded } from "./lib/orphans.ts";
import { freePort } from "./lib/redis-server.ts";
import type { Stack } from "./lib/stack.ts";
import { spawnTrainer, TRAINER_ENTRY, type TrainerProcess } from "./lib/trainer-process.ts";
import { workerConfig } from "./lib/wrangler-config.ts";

const started = performance.now();
/** `VERGE_TRACE_START=1` prints when each step of the start finished (for `npm run bench -- stack`). */
const trace = (step: string) => process.env.VERGE_TRACE_START && console.log(`[start] ${((performance.now() - started) / 1000).toFixed(2)} s ${step}`);
const STATE = join(HOME, "state");
const PIDS = join(HOME, "pids");
const OFFLINE = process.env.VERGE_OFFLINE_ROOT ?? join(HOME, "offline");
const ports = localPorts();
const cp = `http://127.0.0.1:${ports.controlPlane}`;
const gw = `http://127.0.0.1:${ports.gateway}`;
const tr = `http://127.0.0.1:${ports.trainer}`;

let stack: Stack | undefined;
let trainer: TrainerProcess | undefined;
let stopCron = () => {};
let stopping: Promise<never> | undefined;

/** Stops the trainer and workerd together (each has its own grace period), then exits; once. */
function stop(code = 0): Promise<never> {
  stopping ??= (async () => {
    console.log("\nstopping…");
    stopCron();
    const disposed = stack?.dispose().catch(() => undefined);
    await Promise.all([trainer?.stop(3000).then(() => trace("trainer stopped")), Promise.race([disposed, new Promise((r) => setTimeout(r, 3000))]).then(() => trace("workerd stopped"))]);
    await stopRecorded(PIDS); // whatever did not stop in time
    trace("stopped");
    forgetPids(PIDS);
    process.exit(code);
  })();
  return stopping;
}
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const onSignal = () => void stop(0);
for (const signal of SIGNALS) process.on(signal, onSignal);
/**
 * Miniflare adds its own signal listeners that kill workerd and exit at once, cutting the stop
 * above short (the trainer would be left to stop on its own). Ours do both; its `exit` listener
 * stays, and still kills workerd should the process end any other way.
 */
const keepOnlyOurSignalListeners = () => {
  for (const signal of SIGNALS) for (const listener of process.listeners(signal)) if (listener !== onSignal) process.off(signal, listener);
};
// Should the process end some other way, the trainer is told to stop all the same.
process.on("exit", () => {
  if (trainer && trainer.child.exitCode === null) trainer.child.kill("SIGTERM");
});
// `npm start` runs this with `exec` so signals reach it; should whatever started it die without a
// signal (SIGKILL), it is adopted by another process: stop rather than hold the ports forever.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop(0);
}, 1000).unref();

const trainerEnv = (s: LocalSecrets, apiPort: number): Record<string, string> => {
  // The trainer never sees the admin token: it acts with its own operator token.
  const { VERGE_ADMIN_TOKEN: _admin, ...env } = process.env as Record<string, string>;
  return {
    ...env,
    HOST: "127.0.0.1",
    PORT: String(ports.trainer),
    VERGE_TRAINER_PUBLIC_URL: tr,
    VERGE_CONTROL_PLANE_URL: cp,
    VERGE_CONTROL_PLANE_TOKEN: s.trainer!.operatorToken,
    VERGE_ALERT_WEBHOOK_ID: s.trainer!.webhookId,
    VERGE_ALERT_WEBHOOK_SECRET: s.trainer!.webhookSecret,
    VERGE_ORIGIN_SECRET: s.originSecret,
    VERGE_METRICS_TOKEN: s.metricsToken,
    VERGE_TRAINER_TOKEN: s.trainerToken,
    VERGE_OFFLINE_ROOT: OFFLINE,
    VERGE_TRAINER_STATE: join(HOME, "trainer"),
    // Features go where the gateway reads them: its FEATURES namespace, through Cloudflare's KV API.
    VERGE_ONLINE_STORE: "kv",
    CLOUDFLARE_ACCOUNT_ID: "local",
    CLOUDFLARE_API_TOKEN: s.cloudflareApiToken,
    CLOUDFLARE_BASE_URL: localCloudflareApiUrl(apiPort),
    VERGE_KV_NAMESPACE_ID: workerConfig("gateway").kv_namespaces!.find((k) => k.binding === "FEATURES")!.id!,
    VERGE_GATEWAY_URL: gw,
  };
};

const launchTrainer = (s: LocalSecrets, apiPort: number) => spawnTrainer(trainerEnv(s, apiPort), { onLine: (line) => console.log(`[trainer] ${line}`) });

try {
  const leftovers = await stopRecorded(PIDS);
  if (leftovers) console.log("stopped the processes a previous start left running");
  await assertPortsFree(ports, leftovers ? 5000 : 0);
  const secrets = loadSecrets();
  const apiPort = await freePort();
  if (buildWorkers().length) console.log("built the workers (sources changed)");
  // With credentials from a previous start the trainer starts alongside workerd, before the
  // heavier modules below are even loaded.
  if (secrets.trainer) trainer = launchTrainer(secrets, apiPort);
  trace("trainer spawned");
  const { startStack } = await import("./lib/stack.ts");
  trace("modules loaded");
  if (!existsSync(join(OFFLINE, "churn/labels.parquet"))) await (await import("./lib/demo-data.ts")).writeChurnData(OFFLINE);
  stack = await startStack({
    adminToken: secrets.adminToken,
    gatewayToken: secrets.gatewayToken,
    persistTo: STATE,
    ports,
    gatewayBindings: { ORIGIN_URL: tr, ORIGIN_SECRET: secrets.originSecret },
    cloudflareApi: { port: apiPort, token: secrets.cloudflareApiToken },
  });
  keepOnlyOurSignalListeners();
  const record = () => recordPids(PIDS, [...ownChildPids("workerd").map((pid) => ({ pid, marker: "workerd" })), ...(trainer?.child.pid ? [{ pid: trainer.child.pid, marker: TRAINER_ENTRY }] : [])]);
  record();
  trace("workerd ready");
  const admin = controlPlaneClient({ baseUrl: cp, token: secrets.adminToken });
  // Seeded once: a marker in the state folder says the seed finished (a crash part-way seeds again).
  const seedMarker = join(STATE, "demo-seeded");
  const seeded = existsSync(seedMarker) ? [] : await (await import("./lib/demo.ts")).seedDemo(admin, secrets.clientKey);
  writeFileSync(seedMarker, new Date().toISOString());
  trace("demo seeded");
  const { credentials, created } = await trainerCredentials(admin, secrets.trainer, `${tr}/hooks/alerts`, (token) => controlPlaneClient({ baseUrl: cp, token }));
  if (created) {
    // First start, or the state was reset: (re)start the trainer with its new credentials.
    await trainer?.stop();
    secrets.trainer = credentials;
    saveSecrets(secrets);
    trainer = launchTrainer(secrets, apiPort);
    record();
  }
  trace("trainer credentials checked");
  await trainer!.ready;
  trace("trainer ready");
  void trainer!.exited.then((code) => {
    if (!stopping) {
      console.error(`the trainer exited (${code}); stopping the stack`);
      void stop(1);
    }
  });
  const controlPlane = await stack.mf.getWorker(WORKERS.controlPlane.name);
  stopCron = everyMinute(async (scheduledTime) => {
    await controlPlane.scheduled({ cron: "* * * * *", scheduledTime });
  });
  writeFileSync(join(HOME, "stack.json"), JSON.stringify({ gateway: gw, controlPlane: cp, trainer: tr }, null, 2));
  const from = (name: string) => (process.env[name] ? `  (from ${name})` : "");
  console.log(`
Verge is running (state in ${HOME}), ready in ${((performance.now() - started) / 1000).toFixed(1)} s.
  gateway          ${gw}
  control plane    ${cp}   (cron every minute: rollouts, alerts, webhooks, compaction)
  trainer          ${tr}   (offline store: ${OFFLINE}; online store: the gateway's FEATURES KV)
  admin token      ${secrets.adminToken}${from("VERGE_ADMIN_TOKEN")}
  demo client key  ${secrets.clientKey}${from("VERGE_DEMO_CLIENT_KEY")}
  trainer token    ${secrets.trainerToken}${from("VERGE_TRAINER_TOKEN")}
  demo model       ${seeded.length ? `seeded: ${seeded.join(", ")}` : "seeded on an earlier start"}

Dashboard (sign in with the admin token):  ${cp}/ui

In another terminal, \`eval "$(npm run -s env)"\` sets GW, CP, TR, ADMIN, KEY and TT for the README's
examples (and VERGE_METRICS_TOKEN for the trainer's /metrics), and VERGE_URL, VERGE_TOKEN, VERGE_TRAINER_URL and VERGE_TRAINER_TOKEN for \`npx verge\`:
  curl -s $GW/v1/models/demo/predict -H "authorization: Bearer $KEY" -d '{"unit":"user-42"}'
  npx verge jobs submit examples/churn-job.json

Ctrl-C (or SIGTERM) stops everything.`);
} catch (err) {
  console.error(`npm start failed: ${(err as Error).message}`);
  await stop(1);
}
