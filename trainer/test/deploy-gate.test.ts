// The deploy step's gate: a candidate whose holdout metric is not a number (AUC of a one-class
// holdout is NaN) is held, and the control plane is never asked to change anything.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deployCandidateSchema, submitJobSchema, type JobView } from "@verge/shared";
import { deployCandidate, deployGate } from "../src/jobs/deploy.ts";
import type { RegistryClient } from "../src/registry/client.ts";
import { recordingJob } from "./recording-job.ts";

const spec = submitJobSchema.parse({
  model: "m",
  algorithm: "logreg",
  dataset: { labels: { path: "labels.parquet" } },
  feature_spec: { features: [{ name: "x", type: "number", default: 0 }] },
});

/** A registry that records every call and answers none: the gate must refuse before any. */
function untouchedRegistry(calls: string[]): RegistryClient {
  return new Proxy({} as RegistryClient, {
    get: (_t, name) => () => {
      calls.push(String(name));
      throw new Error(`registry.${String(name)} called`);
    },
  });
}

describe("deploy gate", () => {
  it("holds a candidate whose AUC is NaN (one-class holdout), with or without production, and calls nothing", async () => {
    const plan = deployCandidateSchema.parse({ min_improvement: -1, shadow_s: 0 });
    for (const metrics of [{ auc: Number.NaN }, { auc: Number.NaN, production_auc: Number.NaN, production_version: 1 }, { auc: 0.9, production_auc: Number.NaN, production_version: 1 }]) {
      const calls: string[] = [];
      const recorded: Partial<JobView>[] = [];
      await deployCandidate(recordingJob(spec, recorded), untouchedRegistry(calls), plan, 2, metrics);
      expect(calls).toEqual([]);
      expect(recorded.at(-1)?.deployment).toMatchObject({ outcome: "held", reason: expect.stringMatching(/not measured/) });
    }
  });

  it("refuses exactly when a compared metric is not finite or the improvement is short", () => {
    const metric = fc.oneof(fc.double({ min: 0, max: 1 }), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY));
    fc.assert(
      fc.property(metric, fc.option(metric, { nil: undefined }), fc.double({ min: -1, max: 1, noNaN: true }), (auc, prod, min) => {
        const metrics: Record<string, number> = prod === undefined ? { auc } : { auc, production_auc: prod, production_version: 1 };
        const refusal = deployGate({ task: "binary_classification" }, metrics, min);
        const finite = Number.isFinite(auc) && (prod === undefined || Number.isFinite(prod));
        const passes = finite && (prod === undefined || auc - prod >= min);
        expect(refusal === undefined).toBe(passes);
      }),
    );
  });
});
