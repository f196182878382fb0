// `npm run migrate:monitoring`: the one-time move of monitoring data (rollups, identities, labels)
// from D1 into the rollup shards, for a deployment upgraded from a version that kept them in D1.
// Run it once after deploying (and applying migrations); it is safe to stop and run again.
//   npm run migrate:monitoring -- --url https://control-plane.example.com --token $ADMIN_TOKEN
//   npm run migrate:monitoring -- --state .verge/state      (the local stack's folder, stack stopped)
import { parseArgs } from "node:util";
import { controlPlaneClient, type ControlPlaneClient } from "@verge/client";
import { buildWorkers } from "./lib/build.ts";
import { startStack } from "./lib/stack.ts";

export interface MigrationReport {
  calls: number;
  moved: Record<string, number>;
}

/** Calls the move until nothing is left, adding up what each call moved. */
export async function migrateMonitoring(admin: ControlPlaneClient, onProgress: (line: string) => void = () => {}): Promise<MigrationReport> {
  const report: MigrationReport = { calls: 0, moved: {} };
  for (;;) {
    const r = await admin.api.monitoringMigration({ body: { limit: 1000 } });
    report.calls++;
    for (const [k, n] of Object.entries(r.moved)) report.moved[k] = (report.moved[k] ?? 0) + n;
    onProgress(`moved ${JSON.stringify(r.moved)}, remaining ${JSON.stringify(r.remaining)}`);
    if (r.done) return report;
    if (Object.values(r.moved).every((n) => n === 0)) throw new Error(`the move made no progress; remaining: ${JSON.stringify(r.remaining)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { url: { type: "string" }, token: { type: "string" }, state: { type: "string" } } });
  const token = values.token ?? process.env.VERGE_ADMIN_TOKEN;
  if (values.state) {
    buildWorkers();
    const adminToken = token ?? "migration-admin-token-0123456789abcdef";
    const stack = await startStack({ adminToken, gatewayToken: "migration-gateway-token-0123456789abcdef", persistTo: values.state });
    try {
      const report = await migrateMonitoring(controlPlaneClient({ fetch: stack.controlPlane, token: adminToken }), console.log);
      console.log(`done in ${report.calls} call(s): ${JSON.stringify(report.moved)}`);
    } finally {
      await stack.dispose();
    }
  } else {
    if (!values.url || !token) throw new Error("usage: migrate-monitoring --url URL --token ADMIN_TOKEN | --state FOLDER");
    const report = await migrateMonitoring(controlPlaneClient({ baseUrl: values.url, token }), console.log);
    console.log(`done in ${report.calls} call(s): ${JSON.stringify(report.moved)}`);
  }
}
