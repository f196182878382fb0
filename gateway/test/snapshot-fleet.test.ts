// The snapshot at fleet scale: isolates share the colo's copy, so the control plane's snapshot calls
// stay flat as isolates are added, and a rollback still reaches every isolate within 5 s.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../scripts/lib/demo.ts";
import { CLIENT_KEY, eventually } from "../../test/helpers.ts";
import { drive, startFleet, type Fleet } from "../../test/fleet.ts";

const TTL_MS = 2000; // production's default
const ISOLATES = 8;
const WINDOW_MS = 3 * TTL_MS;
let fleet: Fleet;
const dir = mkdtempSync(join(tmpdir(), "verge-fleet-"));

beforeAll(async () => {
  fleet = await startFleet({ isolates: ISOLATES, ttlMs: TTL_MS, coloCache: "on", persistTo: dir });
  await seedDemo(fleet.admin, CLIENT_KEY);
  await fleet.admin.ok("PUT", "/v1/models/demo/deployment", { variants: [{ name: "main", alias: "production", weight: 10000 }] });
}, 120_000);
afterAll(async () => {
  await fleet?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const allServe = async (version: number) => {
  for (let i = 0; i < ISOLATES; i++) if ((await fleet.versionServed(i)) !== version) return undefined;
  return true;
};

describe("snapshot across isolates", () => {
  it("keeps control-plane calls flat as isolates grow", async () => {
    await eventually(() => allServe(1)); // every isolate warm
    await fleet.reset();
    await drive(fleet, 2, WINDOW_MS);
    const two = await fleet.counts();
    await fleet.reset();
    const served = await drive(fleet, ISOLATES, WINDOW_MS);
    const eight = await fleet.counts();
    // One revalidation per TTL for the whole colo (plus a claim race or a window edge), however
    // many isolates: each of 8 isolates asking for itself would make about 8 × 3.
    expect(served).toBeGreaterThan(ISOLATES * 3);
    expect(eight.calls).toBeLessThanOrEqual(WINDOW_MS / TTL_MS + 2);
    expect(eight.calls).toBeLessThanOrEqual(two.calls + 2);
    expect(eight.full).toBe(0); // nothing changed: every call was a 304
  }, 60_000);

  it("serves a rollback from every isolate within 5 s", async () => {
    await fleet.admin.ok("POST", "/v1/models/demo/promote", { version: 2 });
    await eventually(() => allServe(2), 30_000, 100);
    await fleet.reset();
    const t0 = Date.now();
    await fleet.admin.ok("POST", "/v1/models/demo/rollback", { reason: "test" });
    await eventually(() => allServe(1), 10_000, 50);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(5000);
    expect(await allServe(1)).toBe(true);
    // The change crossed the fleet through the colo's copy: a few calls, not one per isolate.
    const { calls, full } = await fleet.counts();
    expect(full).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThan(ISOLATES);
  }, 60_000);
});
