// The `labelled_logs` trigger's source: the control plane's log lake, read through its logs API
// (`GET /v1/models/{model}/logs?labels=only`, the typed client). It counts the predictions whose
// label's time (`ts` as the client sent it, else when the gateway received it) is at or after a
// moment. A label joins a prediction at most the control plane's feedback window after the
// prediction's day, so predictions older than that before the moment cannot count and are not
// read; the rest are read a day at a time, newest first, until enough have been counted.
import type { RegistryClient } from "../registry/client.ts";
import type { LabelledLogSource } from "./triggers.ts";

const DAY_MS = 86_400_000;
const PAGE = 10_000;

export interface LabelledLogsOptions {
  /** The control plane's FEEDBACK_WINDOW_DAYS: how long after its day a prediction can take a label. */
  feedbackWindowDays: number;
  now?: () => number;
}

export function labelledLogSource(registry: Pick<RegistryClient, "logs">, o: LabelledLogsOptions): LabelledLogSource {
  // The window after the prediction's day, plus that day itself.
  const reach = (o.feedbackWindowDays + 1) * DAY_MS;
  return {
    async countSince(model, sinceMs, enough = Number.POSITIVE_INFINITY) {
      const now = (o.now ?? Date.now)();
      // A schedule that never succeeded (or long ago) counts the labels of the last window only:
      // reading the whole lake for a first run would cost more than the answer is worth.
      const since = Math.max(sinceMs, now - reach);
      const oldest = since - reach;
      let count = 0;
      for (let to = now + 1; to > oldest && count < enough; to -= DAY_MS) {
        const from = Math.max(oldest, to - DAY_MS);
        let cursor: string | undefined;
        do {
          const page = await registry.logs(model, { from, to, labels: "only", limit: PAGE, cursor });
          for (const r of page.records) if (r.label_ts != null && r.label_ts >= since) count++;
          cursor = page.next;
        } while (cursor && count < enough);
      }
      return count;
    },
  };
}
