// `npm start`: the local stack. Builds both workers, starts them in workerd with one persisted
// state folder (gateway :8787, control plane :8788), applies migrations, seeds `demo`, starts the
// trainer (:8789) with an example offline store, and prints ready-to-run commands. Ctrl-C stops everything it started.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomToken } from "@verge/shared";
import { controlPlaneClient } from "@verge/client";
import { buildWorkers, ROOT, WORKERS } from "./lib/build.ts";
import { seedDemo } from "./lib/demo.ts";
import { ownWorkerdPids, recordPids, stopRecorded } from "./lib/orphans.ts";
import { startStack } from "./lib/stack.ts";
import { writeChurnData } from "./lib/demo-data.ts";
import { kvStore, type KvNamespaceLike } from "@verge/shared/online-store/kv";
import { trainerApi, trainerServices } from "../trainer/src/api.ts";
import { loadConfig } from "../trainer/src/config.ts";
import { startOrigin } from "../trainer/src/server.ts";

const STATE = join(ROOT, ".verge/state");
const SECRETS = join(ROOT, ".verge/local-secrets.json");
const ports = { gateway: Number(process.env.VERGE_GATEWAY_PORT ?? 8787), controlPlane: Number(process.env.VERGE_CONTROL_PLANE_PORT ?? 8788) };
const trainerPort = Number(process.env.VERGE_TRAINER_PORT ?? 8789);
const OFFLINE = join(ROOT, ".verge/offline");

/** Tokens from the environment, else the ones generated on a previous start, else new ones. */
function secrets() {
  const saved = existsSync(SECRETS) ? (JSON.parse(readFileSync(SECRETS, "utf8")) as Record<string, string>) : {};
  const s = {
    adminToken: process.env.VERGE_ADMIN_TOKEN ?? saved.adminToken ?? randomToken("vadm"),
    clientKey: process.env.VERGE_DEMO_CLIENT_KEY ?? saved.clientKey ?? randomToken("vk"),
    gatewayToken: saved.gatewayToken ?? randomToken("vgw"),
    trainerToken: process.env.VERGE_TRAINER_TOKEN ?? saved.trainerToken ?? randomToken("vtr"),
    originSecret: saved.originSecret ?? randomToken("vos"),
  };
  mkdirSync(STATE, { recursive: true });
  writeFileSync(SECRETS, JSON.stringify(s, null, 2), { mode: 0o600 });
  return s;
}

const s = secrets();
const PIDS = join(STATE, "workerd.pid");
if (stopRecorded(PIDS)) {
  console.log("stopped the workerd left running by a previous start");
  await new Promise((r) => setTimeout(r, 500));
}
console.log("building workers…");
buildWorkers();
const stack = await startStack({
  adminToken: s.adminToken,
  gatewayToken: s.gatewayToken,
  persistTo: STATE,
  ports,
  gatewayBindings: { ORIGIN_URL: `http://127.0.0.1:${trainerPort}`, ORIGIN_SECRET: s.originSecret },
});
recordPids(PIDS, ownWorkerdPids());

// The trainer (GPU origin) in this process: its online store is the gateway's KV namespace.
if (!existsSync(join(OFFLINE, "churn/labels.parquet"))) await writeChurnData(OFFLINE);
const trainerConfig = loadConfig({
  ...process.env,
  PORT: String(trainerPort),
  VERGE_CONTROL_PLANE_URL: `http://127.0.0.1:${ports.controlPlane}`,
  VERGE_CONTROL_PLANE_TOKEN: s.adminToken,
  VERGE_ORIGIN_SECRET: s.originSecret,
  VERGE_TRAINER_TOKEN: s.trainerToken,
  VERGE_OFFLINE_ROOT: process.env.VERGE_OFFLINE_ROOT ?? OFFLINE,
  VERGE_TRAINER_STATE: join(ROOT, ".verge/trainer"),
});
const features = await stack.mf.getKVNamespace("FEATURES", WORKERS.gateway.name);
const services = await trainerServices(trainerConfig, { onlineStore: kvStore(features as unknown as KvNamespaceLike) });
const trainer = await startOrigin(trainerConfig, { extraRoutes: [{ path: "/", app: trainerApi(services) }] });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping…");
  await services.runner.close();
  await trainer.close();
  await stack.dispose();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const cp = `http://127.0.0.1:${ports.controlPlane}`;
const gw = `http://127.0.0.1:${ports.gateway}`;
const admin = controlPlaneClient({ baseUrl: `${cp}`, token: s.adminToken });
const seeded = await seedDemo(admin, s.clientKey);

console.log(`
Verge is running (state in .verge/state).
  gateway        ${gw}
  control plane  ${cp}
  trainer        http://127.0.0.1:${trainerPort}   (offline store: ${trainerConfig.VERGE_OFFLINE_ROOT})
  trainer token  ${s.trainerToken}${process.env.VERGE_TRAINER_TOKEN ? "  (from VERGE_TRAINER_TOKEN)" : ""}
  admin token    ${s.adminToken}${process.env.VERGE_ADMIN_TOKEN ? "  (from VERGE_ADMIN_TOKEN)" : ""}
  demo client key ${s.clientKey}${process.env.VERGE_DEMO_CLIENT_KEY ? "  (from VERGE_DEMO_CLIENT_KEY)" : ""}
  demo model     ${seeded.length ? `seeded: ${seeded.join(", ")}` : "already present"}

Try:
  curl -s ${gw}/v1/models/demo/predict -H 'authorization: Bearer ${s.clientKey}' -H 'content-type: application/json' -d '{"unit":"user-42"}'
  curl -s ${gw}/v1/models/demo/predict -H 'authorization: Bearer ${s.clientKey}' -H 'content-type: application/json' -d '{"unit":"user-42","features":{"tenure_months":30,"plan":"pro"}}'
  curl -s ${cp}/v1/models/demo/deployment -H 'authorization: Bearer ${s.adminToken}'
  curl -s ${cp}/v1/models/demo/metrics -H 'authorization: Bearer ${s.adminToken}'

Dashboard (sign in with the admin token):  ${cp}/ui
CLI:  export VERGE_URL=${cp} VERGE_TOKEN=${s.adminToken} VERGE_TRAINER_TOKEN=${s.trainerToken}; npx verge --help

Train, register and stage a model from the offline store, with a live progress bar:
  npx verge jobs submit examples/churn-job.json

Ctrl-C stops everything.`);
