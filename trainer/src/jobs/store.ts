// Jobs on disk: one folder per job with its state (`job.json`, replaced atomically) and its
// event log (`events.ndjson`, appended). A restart reads them back, so nothing is lost. A job's
// spec may carry credentials (a command's env), so folders are 0700 and files 0600.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DeployCandidate, JobEvent, JobView, SubmitJob } from "@verge/shared";

/**
 * A job parked between steps: the deploy step, once its shadow is on, waits here for the shadow
 * period to end without a job slot, and a restart picks it up from this record.
 */
export interface WaitingStep {
  step: "rollout";
  version: number;
  shadow_started_at: string;
  shadow_until: string;
  plan: DeployCandidate;
  metrics: Record<string, number>;
}

export interface JobRecord {
  view: JobView;
  spec: SubmitJob;
  /** sha256 of the submitted body: the same id with a different body is a conflict. */
  specHash: string;
  /** Set while the job waits for its next step (see WaitingStep). */
  waiting?: WaitingStep;
}

export class JobStore {
  readonly root: string;

  constructor(stateDir: string) {
    this.root = join(stateDir, "jobs");
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Every job on disk, oldest first. */
  loadAll(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const id of readdirSync(this.root)) {
      const file = join(this.dir(id), "job.json");
      if (!existsSync(file)) continue;
      try {
        out.push(JSON.parse(readFileSync(file, "utf8")) as JobRecord);
      } catch {
        // A job.json is only ever replaced by rename, so a torn file means outside damage: skip it.
      }
    }
    return out.sort((a, b) => a.view.created_at.localeCompare(b.view.created_at) || a.view.id.localeCompare(b.view.id));
  }

  save(record: JobRecord): void {
    const dir = this.dir(record.view.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, "job.json.tmp");
    writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
    renameSync(tmp, join(dir, "job.json"));
  }

  appendEvent(id: string, event: JobEvent): void {
    appendFileSync(join(this.dir(id), "events.ndjson"), `${JSON.stringify(event)}\n`, { mode: 0o600 });
  }

  events(id: string): JobEvent[] {
    const file = join(this.dir(id), "events.ndjson");
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as JobEvent];
        } catch {
          return []; // a line torn by a crash mid-append
        }
      });
  }

  writeFile(id: string, name: string, data: string | Uint8Array): string {
    const path = join(this.dir(id), name);
    writeFileSync(`${path}.tmp`, data, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    return path;
  }
}
