// Rollback time: from the rollback call until every response serves the previous version, in the
// local stack with the gateway's production snapshot TTL.
import { randomToken } from "@verge/shared";
import { controlPlaneClient } from "@verge/client";
import { seedDemo } from "../scripts/lib/demo.ts";
import { startStack } from "../scripts/lib/stack.ts";
import { conditions, median, writeSection } from "./report.ts";

const TRIALS = 7;
const TTL_MS = 2000; // gateway/wrangler.toml SNAPSHOT_TTL_MS
const ports = { gateway: 18797, controlPlane: 18798 };

export async function benchRollback(): Promise<void> {
  const adminToken = randomToken("vadm");
  const clientKey = randomToken("vk");
  const stack = await startStack({ adminToken, gatewayToken: randomToken("vgw"), ports, snapshotTtlMs: TTL_MS });
  const admin = controlPlaneClient({ baseUrl: `http://127.0.0.1:${ports.controlPlane}`, token: adminToken });
  let n = 0;
  const served = async () => {
    const res = await fetch(`http://127.0.0.1:${ports.gateway}/v1/models/demo/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify({ unit: `u${n++}` }),
    });
    return ((await res.json()) as { version: number }).version;
  };
  /** Polls every 20 ms until 25 responses in a row (over > 0.5 s) serve `version`; returns when the run began. */
  const until = async (version: number) => {
    let runStart = 0;
    let run = 0;
    for (;;) {
      const t = performance.now();
      if ((await served()) === version) {
        if (run++ === 0) runStart = t;
        if (run >= 25) return runStart;
      } else run = 0;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await seedDemo(admin, clientKey);
    await admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
    const times: number[] = [];
    const calls: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      await admin.ok("POST", "/v1/models/demo/promote", { version: 2 });
      await until(2);
      // Start at a random point in the gateway's TTL cycle, as a real incident would.
      await new Promise((r) => setTimeout(r, Math.random() * TTL_MS));
      const t0 = performance.now();
      await admin.ok("POST", "/v1/models/demo/rollback", { reason: "benchmark" });
      calls.push(performance.now() - t0);
      times.push((await until(1)) - t0);
      console.log(`trial ${t + 1}: every response on the old version after ${times.at(-1)!.toFixed(0)} ms`);
    }
    writeSection(
      "rollback",
      `## Rollback: time until every response serves the previous version

| | median | max |
|---|---|---|
| rollback API call | ${median(calls).toFixed(0)} ms | ${Math.max(...calls).toFixed(0)} ms |
| call → all responses on the old version | **${median(times).toFixed(0)} ms** | ${Math.max(...times).toFixed(0)} ms |

Goal ≤ 5 s. ${TRIALS} trials in the local stack (gateway and control plane in workerd, D1 local), each starting at a random point of the gateway's ${TTL_MS} ms snapshot TTL; "all responses" means 25 consecutive predictions over ≥ 0.5 s on the old version. One gateway isolate locally; in production isolates revalidate against their colo's shared copy (Cache API), which carries when the control plane last vouched for it, so the bound is TTL + one claim (1 s) + one ETag round trip; the 8-isolate case is tested in \`gateway/test/snapshot-fleet.test.ts\`.
${conditions()}`,
    );
  } finally {
    await stack.dispose();
  }
}
