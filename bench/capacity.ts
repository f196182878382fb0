// The capacity table: what 10,000 predictions per second for 30 days takes from each part, worked
// out from the figures the monitoring benchmark measured and the platform's published limits and
// prices (at the time of writing). Pure arithmetic, so the table shows its inputs.

export interface Measured {
  /** Records one rollup shard folds per second (its own clock). */
  shardRate: number;
  /** Records the consumer handles per second (validation to lake write). */
  consumerRate: number;
  consumerMsPerBatch: number;
  /** SQLite bytes per prediction in a shard within the dedup horizon. */
  shardBytesPerPrediction: number;
  /** Gzipped lake bytes per prediction. */
  lakeBytesPerPrediction: number;
  /** A log record's JSON in UTF-8 bytes. */
  recordJsonBytes: number;
  subshardsPerDayAt10k: number;
}

const RATE = 10_000;
const SECONDS_PER_MONTH = 30 * 86_400;
const LIMITS = { queueMessagesPerSecond: 5000, messageBytes: 96 * 1024, consumerConcurrency: 250, shardBytes: 10 * 2 ** 30, shardFill: 0.8 };
/** Published prices (USD) at the time of writing. */
const PRICE = { queueOpsPerMillion: 0.4, doRowsWrittenPerMillion: 1, doStorageGbMonth: 0.2, doRequestsPerMillion: 0.15, r2GbMonth: 0.015, r2ClassAPerMillion: 4.5 };
const FEEDBACK_WINDOW_DAYS = 14;

const n = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const gb = (bytes: number) => bytes / 2 ** 30;
const usd = (x: number) => `$${n(x)}`;

export function capacityTable(m: Measured): string {
  const perDay = RATE * 86_400;
  const perMonth = RATE * SECONDS_PER_MONTH;
  const recordsPerMessage = Math.min(100, Math.floor(LIMITS.messageBytes / (m.recordJsonBytes + 1)));
  const messagesPerSecond = RATE / recordsPerMessage;
  const messageBytes = recordsPerMessage * (m.recordJsonBytes + 1);
  const opsPerMessage = 3 * Math.ceil(messageBytes / 65_536);
  const queueOps = messagesPerSecond * opsPerMessage * SECONDS_PER_MONTH;
  const batchesPerSecond = messagesPerSecond / 100;
  const consumerBusy = RATE / m.consumerRate;
  const dayBytes = perDay * m.shardBytesPerPrediction;
  const subs = Math.max(1, Math.ceil(dayBytes / (LIMITS.shardBytes * LIMITS.shardFill)));
  const shardBusy = RATE / subs / m.shardRate;
  const doRequests = batchesPerSecond * subs * SECONDS_PER_MONTH;
  const storedJoinRows = FEEDBACK_WINDOW_DAYS * dayBytes;
  const lakeBytes = perMonth * m.lakeBytesPerPrediction;
  const lakeObjects = batchesPerSecond * subs * SECONDS_PER_MONTH;
  const rows = [
    ["predictions", `${n(perDay)} a day, ${n(perMonth)} in 30 days`, "", ""],
    [
      "gateway → queue",
      `${recordsPerMessage} records (${n(messageBytes / 1024, 1)} KB) a message: ${n(messagesPerSecond)} messages/s`,
      `${n((100 * messagesPerSecond) / LIMITS.queueMessagesPerSecond, 1)}% of one queue's 5,000 messages/s`,
      `${n(queueOps / 1e6)} M operations (${opsPerMessage} per message: write, read, delete per 64 KB) ≈ ${usd((queueOps / 1e6) * PRICE.queueOpsPerMillion)}`,
    ],
    [
      "log consumer",
      `${n(batchesPerSecond, 1)} batches/s of ${n(recordsPerMessage * 100)} records; ${n(m.consumerMsPerBatch)} ms each (measured)`,
      `${n(consumerBusy, 2)} invocations busy at a time of 250`,
      "Workers CPU time",
    ],
    [
      "rollup shards",
      `${subs} sub-shard${subs > 1 ? "s" : ""} per model and day (${n(gb(dayBytes), 1)} GB of identities and join rows a day at ${n(m.shardBytesPerPrediction, 1)} B each, ≤ 80% of 10 GB each); each busy ${n(100 * shardBusy, 1)}% of the time (${n(m.shardRate)} records/s measured)`,
      `${n(batchesPerSecond * subs, 1)} requests/s in all; ${n(gb(storedJoinRows))} GB held over the ${FEEDBACK_WINDOW_DAYS}-day feedback window`,
      `${n(perMonth / 1e6)} M rows written (one per prediction) ≈ ${usd((perMonth / 1e6) * PRICE.doRowsWrittenPerMillion)}; storage ≈ ${usd(gb(storedJoinRows) * PRICE.doStorageGbMonth)}; ${n(doRequests / 1e6)} M requests ≈ ${usd((doRequests / 1e6) * PRICE.doRequestsPerMillion)}`,
    ],
    [
      "log lake (R2)",
      `${n(gb(lakeBytes))} GB for 30 days at ${n(m.lakeBytesPerPrediction, 1)} B a prediction (gzipped)`,
      `${n(lakeObjects / SECONDS_PER_MONTH, 1)} objects/s (one per fold, shard and hour)`,
      `storage ≈ ${usd(gb(lakeBytes) * PRICE.r2GbMonth)}; ${n(lakeObjects / 1e6)} M writes ≈ ${usd((lakeObjects / 1e6) * PRICE.r2ClassAPerMillion)}`,
    ],
    ["D1", `no per-prediction rows; the shard directory gains ${subs} row${subs > 1 ? "s" : ""} a day per model`, "far from 10 GB", "—"],
  ];
  return [
    `### Capacity: 10,000 predictions per second for 30 days`,
    "",
    "| part | what it takes | against its limit | monthly cost drivers |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `The largest cost is the rollup shards' rows written: exactly-once counting under at-least-once delivery writes one identity row per prediction (the same row later carries its feedback label, one more write per label). Labels, the alert sweep and reports add reads (about $0.001 per million rows) and no writes. Counting once per queue message instead of per record would cut the writes about ${recordsPerMessage}-fold, but then a record re-sent in a different envelope would count twice; per-record identities were kept.`,
  ].join("\n");
}
