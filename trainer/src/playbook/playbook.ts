// The response playbook on the trainer. The control plane delivers alerts to a webhook here
// (signed, retried with backoff); a drift or concept-drift alert on a model with a playbook
// starts a retraining job on recent data whose deploy step shadows the candidate and rolls it
// out through the promotion rules. The job id is derived from the alert, so a redelivered alert
// never starts a second job. Once the candidate is production, drift is measured against its own
// reference histograms: the baseline moves with the promotion.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { z } from "zod";
import { alertEventSchema, ApiError, isLogsDataset, nameSchema, playbookSchema, submitJobSchema, verifyRequest, type Playbook } from "@verge/shared";
import { jsonBody, parseJson, validate } from "@verge/shared/http";
import { trainerApi as api } from "@verge/shared/api/trainer";
import { describe } from "@verge/shared/openapi";
import { guard, hasRole, type TrainerEnv } from "../http/auth.ts";
import { checkCommandAllowed } from "../jobs/command-policy.ts";
import type { RegistryClient } from "../registry/client.ts";
import { isTerminal, type JobRunner } from "../jobs/runner.ts";
import { limitBody } from "../http/body.ts";

interface PlaybookState {
  playbooks: Record<string, Playbook>;
  /** The webhook this trainer registered with the control plane, and its signing secret. */
  webhook?: { id: string; secret: string; url: string };
}


export class PlaybookStore {
  private readonly file: string;
  state: PlaybookState;
  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.file = join(stateDir, "playbooks.json");
    this.state = existsSync(this.file) ? (JSON.parse(readFileSync(this.file, "utf8")) as PlaybookState) : { playbooks: {} };
  }
  save(): void {
    // It holds the alert webhook's signing secret.
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
  }
}

/** Set (operator; admin for a command job), read (viewer) and remove (operator) a model's playbook. */
export function playbookRoutes(store: PlaybookStore, registry: RegistryClient, hookUrl: string, allowlist: readonly string[]) {
  const param = z.object({ model: nameSchema });
  return new Hono<TrainerEnv>()
    .put("/:model", guard(api.putPlaybook), validate("param", param), jsonBody(playbookSchema), async (c) => {
      const { model } = c.req.valid("param");
      // Its retraining job runs as the trainer, later: a command one needs an admin now.
      const { command } = c.req.valid("json").job;
      if (command) {
        if (!hasRole(c, "admin")) throw new ApiError("forbidden", "job.algorithm: a playbook with a \"command\" job needs the admin role");
        checkCommandAllowed(command, allowlist, "job.command.argv.0");
      }
      if (!store.state.webhook || store.state.webhook.url !== hookUrl) {
        const hook = await registry.createWebhook(hookUrl).catch((err: unknown) => {
          if (err instanceof ApiError && err.code === "forbidden") {
            throw new ApiError("forbidden", `registering the alert webhook needs an admin token: have an admin register ${hookUrl} once (POST /v1/webhooks) and give this trainer VERGE_ALERT_WEBHOOK_ID and VERGE_ALERT_WEBHOOK_SECRET`);
          }
          throw err;
        });
        store.state.webhook = { ...hook, url: hookUrl };
      }
      store.state.playbooks[model] = c.req.valid("json");
      store.save();
      return c.json({ model, playbook: store.state.playbooks[model], webhook: { id: store.state.webhook.id, url: hookUrl } });
    })
    .get("/", guard(api.listPlaybooks), (c) => c.json({ playbooks: store.state.playbooks }))
    .delete("/:model", guard(api.deletePlaybook), validate("param", param), (c) => {
      const { model } = c.req.valid("param");
      if (!Object.hasOwn(store.state.playbooks, model)) throw new ApiError("not_found", `model: no playbook for "${model}"`);
      delete store.state.playbooks[model];
      store.save();
      return c.body(null, 204);
    });
}

/** An alert event is a few hundred bytes: anything near this is not one. */
export const ALERT_BODY_LIMIT = 64 * 1024;

/** The alert webhook (authenticated by the control plane's signature, not the trainer token). */
export function alertHook(store: PlaybookStore, registry: RegistryClient, runner: JobRunner) {
  return new Hono().post("/", describe(api.alertHook), limitBody(ALERT_BODY_LIMIT), async (c) => {
    const body = await c.req.text();
    const secret = store.state.webhook?.secret;
    if (!secret) throw new ApiError("unavailable", "no webhook is registered: set a playbook first");
    const verdict = await verifyRequest(secret, { method: "POST", path: new URL(c.req.url).pathname, timestamp: c.req.header("x-verge-timestamp"), signature: c.req.header("x-verge-signature"), body });
    if (!verdict.ok) throw new ApiError("unauthorized", `signature: ${verdict.reason}`);
    const event = parseJson(alertEventSchema, body);
    const { alert } = event;
    const playbook = Object.hasOwn(store.state.playbooks, alert.model) ? store.state.playbooks[alert.model] : undefined;
    if (event.event !== "alert.opened" || !playbook || !(playbook.on as string[]).includes(alert.kind)) return c.json({ action: "none" });
    // One retraining per model at a time: the other alerts of the same shift are acknowledged into it.
    const running = runner.list().find((j) => j.model === alert.model && j.id.startsWith("playbook-alert-") && !isTerminal(j.phase) && j.id !== `playbook-alert-${alert.id}`);
    if (running) {
      await ack(registry, alert.id);
      return c.json({ action: "already_retraining", job: running.id }, 202);
    }
    const openedAt = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(alert.opened_at) ? alert.opened_at : `${alert.opened_at.replace(" ", "T")}Z`);
    const since = Math.max(0, Math.floor((Number.isFinite(openedAt) ? openedAt : Date.now()) - playbook.lookback_days * 86_400_000));
    const reason = `${alert.kind} alert #${alert.id} on ${alert.subject}`;
    const spec = submitJobSchema.parse({
      ...playbook.job,
      id: `playbook-alert-${alert.id}`,
      model: alert.model,
      // "Recent data": label events since the lookback, or served logs from it until the alert.
      dataset: isLogsDataset(playbook.job.dataset) ? { ...playbook.job.dataset, logs: { ...playbook.job.dataset.logs, from: since, to: Math.max(since + 1, Date.now()) } } : { ...playbook.job.dataset, since },
      deploy: playbook.deploy,
      reason,
    });
    const { view, created } = await runner.submit(spec);
    // Acknowledged: a response is under way (the ack is in the control plane's audit log).
    await ack(registry, alert.id);
    return c.json({ action: "retrain", job: view.id, created }, 202);
  });
}

async function ack(registry: RegistryClient, id: number): Promise<void> {
  await registry.ackAlert(id).catch((err: unknown) => {
    if (!(err instanceof ApiError && err.code === "conflict")) throw err;
  });
}
