// The whole trainer as one service on one port: the origin's inference routes, the jobs API with
// its events, materialization, batch predictions, playbooks and their alert webhook. `npm run
// trainer`, the `verge-trainer` bin and `npm start` all run this.
import type { Config } from "./config.ts";
import { trainerApi, trainerServices, type TrainerServices } from "./api.ts";
import { controlPlaneAuth } from "./http/auth.ts";
import { checkOnlineStore } from "./online-store/online-store.ts";
import { startOrigin } from "./server.ts";

export interface Trainer {
  port: number;
  services: TrainerServices;
  /** Stops taking requests, schedules and jobs; running jobs end as interrupted, queued ones wait on disk. */
  close(): Promise<void>;
}

export async function startTrainer(config: Config, options: { fetcher?: typeof fetch } = {}): Promise<Trainer> {
  const services = await trainerServices(config, options);
  try {
    if (services.onlineStore && config.VERGE_GATEWAY_URL) {
      await checkOnlineStore(services.onlineStore, { gatewayUrl: config.VERGE_GATEWAY_URL, originSecret: config.VERGE_ORIGIN_SECRET, timeoutMs: config.VERGE_ONLINE_STORE_CHECK_MS });
    }
    const origin = await startOrigin(config, { extraRoutes: [{ path: "/", app: trainerApi(services, controlPlaneAuth(config, options.fetcher)) }], ...(options.fetcher ? { fetcher: options.fetcher } : {}) });
    return {
      port: origin.port,
      services,
      close: async () => {
        await origin.close();
        await services.close();
      },
    };
  } catch (err) {
    await services.close();
    throw err;
  }
}
