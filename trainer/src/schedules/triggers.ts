// Data triggers: does a schedule's data hold something new since its last successful run?
//
// `files`: the fingerprint is a sha256 over the sorted list of files the path matches in the
// offline store, each with its size and modification time (read from file metadata through
// DuckDB's read_blob, the same code for a local folder and for S3/R2; no file is read). A new
// file or partition, a removed one, or a rewrite changes it; an unchanged set skips the run.
// Modification times have one-second precision, so a same-size rewrite within the second of the
// previous one goes unseen until the next change.
//
// `labelled_logs`: the fingerprint is the time the trigger was evaluated; the run goes ahead when
// the source counts at least `min_new` labelled predictions of the model since the last
// successful run's fingerprint. The trainer's source reads the control plane's log lake
// (labelled-logs.ts).
import { createHash } from "node:crypto";
import type { ScheduleTrigger } from "@verge/shared";
import { Params, withOfflineStore, type OfflineStoreOptions } from "../offline/store.ts";
import type { TriggerVerdict } from "./scheduler.ts";

/** Labelled predictions (served predictions joined with their feedback labels), counted by time. */
export interface LabelledLogSource {
  /**
   * How many labelled predictions of `model` were labelled at or after `sinceMs`; a source may
   * stop counting once it reaches `enough`.
   */
  countSince(model: string, sinceMs: number, enough?: number): Promise<number>;
}

export interface TriggerSources {
  offline: OfflineStoreOptions;
  labelledLogs?: LabelledLogSource | undefined;
  now?: () => number;
}

export async function evaluateTrigger(trigger: ScheduleTrigger, last: string | null, sources: TriggerSources): Promise<TriggerVerdict> {
  if (trigger.kind === "files") {
    const files = await withOfflineStore(sources.offline, async (store) => {
      const p = new Params();
      const rows = await store.query(`SELECT filename, size, last_modified FROM read_blob(${p.bind(store.location(trigger.path))}) ORDER BY filename`, p, trigger.path);
      return rows.map((r) => `${String(r.filename).slice(store.root.length + 1)}\t${String(r.size)}\t${new Date(r.last_modified as Date).toISOString()}`);
    });
    const fingerprint = createHash("sha256").update(files.join("\n")).digest("hex");
    if (files.length === 0) return { run: false, fingerprint, detail: `no file matches ${trigger.path} yet` };
    if (fingerprint === last) return { run: false, fingerprint, detail: `no new or changed file under ${trigger.path} since the last successful run (${files.length} files)` };
    return { run: true, fingerprint, detail: `${files.length} files under ${trigger.path}, changed since the last successful run` };
  }
  const source = sources.labelledLogs;
  if (!source) throw new Error(`trigger labelled_logs: this trainer has no source of labelled logs`);
  const now = (sources.now ?? Date.now)();
  const since = last !== null && /^\d+$/.test(last) ? Number(last) : 0;
  const count = await source.countSince(trigger.model, since, trigger.min_new);
  const detail = `${count} labelled predictions of ${trigger.model} since ${new Date(since).toISOString()} (needs ${trigger.min_new})`;
  return { run: count >= trigger.min_new, fingerprint: String(now), detail };
}
