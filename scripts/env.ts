// `eval "$(npm run -s env)"`: shell variables for the running local stack, as the README's
// examples use them (GW, CP, TR: addresses; ADMIN, KEY, TT: admin token, demo client key,
// trainer token), plus what the `verge` CLI reads.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { HOME, type LocalSecrets } from "./lib/local.ts";

const stackFile = join(HOME, "stack.json");
if (!existsSync(stackFile)) {
  console.error(`no local stack has started with VERGE_HOME=${HOME}: run \`npm start\` first`);
  process.exit(1);
}
const stack = JSON.parse(readFileSync(stackFile, "utf8")) as { gateway: string; controlPlane: string; trainer: string };
const s = JSON.parse(readFileSync(join(HOME, "local-secrets.json"), "utf8")) as LocalSecrets;
// VERGE_*: what `npx verge` reads, so the CLI lines beside the curl examples work as they are.
const vars = { GW: stack.gateway, CP: stack.controlPlane, TR: stack.trainer, ADMIN: s.adminToken, KEY: s.clientKey, TT: s.trainerToken, VERGE_URL: stack.controlPlane, VERGE_TOKEN: s.adminToken, VERGE_TRAINER_URL: stack.trainer, VERGE_TRAINER_TOKEN: s.trainerToken, VERGE_METRICS_TOKEN: s.metricsToken };
// Values are URLs and generated tokens (no quotes or spaces), single-quoted all the same.
for (const [k, v] of Object.entries(vars)) console.log(`export ${k}='${v}'`);
