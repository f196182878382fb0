// `npm run trainer` (or the `verge-trainer` bin): the trainer from its environment alone
// (trainer/src/config.ts lists every variable). Exits non-zero with the reason when the
// configuration is invalid or the online store is not the gateways'; stops cleanly on SIGINT/SIGTERM.
import { loadConfig } from "./config.ts";
import { startTrainer } from "./service.ts";

/** How long a stop may take before the process exits anyway (a job mid-step, a slow client). */
const STOP_GRACE_MS = 4000;

try {
  const config = loadConfig();
  const trainer = await startTrainer(config);
  const store = trainer.services.onlineStore ? `${trainer.services.onlineStore.name}, checked against ${config.VERGE_GATEWAY_URL}` : "none";
  console.log(`verge trainer listening on http://${config.HOST}:${trainer.port} (control plane ${config.VERGE_CONTROL_PLANE_URL}; online store ${store}; API: control-plane tokens${config.VERGE_TRAINER_TOKEN ? " and VERGE_TRAINER_TOKEN (operator)" : ""}; command jobs ${config.VERGE_COMMAND_ALLOWLIST.length ? `may run ${config.VERGE_COMMAND_ALLOWLIST.join(", ")}` : "off"})`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`trainer: ${signal}, stopping`);
    setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
    trainer.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`trainer: stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
} catch (err) {
  console.error(`verge trainer did not start: ${(err as Error).message}`);
  process.exit(1);
}
