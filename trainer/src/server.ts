// The origin node: `npm run origin` (or `tsx trainer/src/server.ts`) serves heavy models on :8789.
import { serve } from "@hono/node-server";
import { loadConfig } from "./config.ts";
import { modelCache } from "./serving/models.ts";
import { originApp } from "./serving/routes.ts";

export function startOrigin(config = loadConfig()) {
  const app = originApp(config, modelCache(config));
  return new Promise<{ port: number; close: () => Promise<void> }>((resolve) => {
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
      resolve({ port: info.port, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { port } = await startOrigin();
  console.log(`origin serving on :${port}`);
}
