// Which token the CLI gives the trainer: its own when one is given, else the control plane's
// (the trainer takes the control plane's tokens, with their roles).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { resolveConnection } from "../src/config.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "verge-cli-conn-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it("sends the control-plane token to the trainer unless a trainer token is given", () => {
  const env = { VERGE_CONFIG: join(dir, "verge.json"), VERGE_TOKEN: "cp-token" };
  expect(resolveConnection({}, env)).toMatchObject({ trainerToken: "cp-token", sources: { trainerToken: "VERGE_TOKEN (the control-plane token)" } });
  expect(resolveConnection({}, { ...env, VERGE_TRAINER_TOKEN: "own" })).toMatchObject({ trainerToken: "own", sources: { trainerToken: "VERGE_TRAINER_TOKEN" } });
  expect(resolveConnection({}, { VERGE_CONFIG: join(dir, "verge.json") }).trainerToken).toBeUndefined();
});
