// What a restarted trainer does with a job it finds mid-run, before the runner marks it failed.
import type { JobView } from "@verge/shared";
import type { RegistryClient } from "../registry/client.ts";
import { removeShadow } from "./deploy.ts";

type Found = { view: Pick<JobView, "id" | "model" | "phase"> & Partial<Pick<JobView, "version">> };

/**
 * A job that stopped while registering may have registered: its version carries the job's id.
 * A job that stopped while deploying (the shadow period) leaves its candidate mirroring traffic:
 * the shadow is taken out again, as the deploy step would have, so none stays on for good; the job
 * still ends as interrupted, and the rollout is not started.
 */
export function recoverJob(registry: RegistryClient) {
  return async (record: Found): Promise<Partial<JobView> | undefined> => {
    if (record.view.phase === "deploying" && record.view.version !== undefined) {
      await removeShadow(registry, record.view.model, record.view.version);
      return undefined;
    }
    if (record.view.phase !== "registering") return undefined;
    const found = (await registry.versions(record.view.model)).find((v) => v.lineage?.parent_job === record.view.id);
    return found ? { phase: "succeeded" as const, version: found.version } : undefined;
  };
}
