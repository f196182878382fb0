// (edge) The Upstash REST bridge in a process of its own, as Upstash is a service of its own: its
// work must not share the load generator's event loop. Prints `{"port": N}` once listening.
import { startUpstashBridge } from "../scripts/lib/upstash-bridge.ts";

const s = JSON.parse(process.argv[2]!) as { redisUrl: string; token: string };
const bridge = await startUpstashBridge(s);
process.on("SIGTERM", () => void bridge.close().then(() => process.exit(0)));
console.log(JSON.stringify({ port: bridge.port }));
