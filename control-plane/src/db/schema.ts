// The registry's tables. drizzle-kit generates `migrations/` from this file.
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const models = sqliteTable("models", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  task: text("task", { enum: ["binary_classification", "regression", "multiclass"] }).notNull(),
  description: text("description"),
  createdAt: text("created_at").notNull().default(now),
  createdBy: text("created_by").notNull(),
});

export const versions = sqliteTable(
  "versions",
  {
    modelId: integer("model_id").notNull().references(() => models.id),
    version: integer("version").notNull(),
    runtime: text("runtime", { enum: ["edge", "origin"] }).notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    artifactKey: text("artifact_key").notNull(),
    /** The validated version metadata (inputs, outputs, feature spec, metrics, lineage) as JSON. */
    metadata: text("metadata", { mode: "json" }).notNull(),
    createdAt: text("created_at").notNull().default(now),
    createdBy: text("created_by").notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.version] })],
);

export const aliases = sqliteTable(
  "aliases",
  {
    modelId: integer("model_id").notNull().references(() => models.id),
    alias: text("alias").notNull(),
    version: integer("version").notNull(),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.alias] })],
);

/** Every alias move, for history and one-step rollback. */
export const aliasEvents = sqliteTable(
  "alias_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    modelId: integer("model_id").notNull().references(() => models.id),
    alias: text("alias").notNull(),
    fromVersion: integer("from_version"),
    toVersion: integer("to_version").notNull(),
    /** `set` pushes onto the alias's history, `rollback` pops one step. */
    kind: text("kind", { enum: ["set", "rollback"] }).notNull().default("set"),
    actor: text("actor").notNull(),
    reason: text("reason"),
    at: text("at").notNull().default(now),
  },
  (t) => [index("alias_events_by_alias").on(t.modelId, t.alias, t.id)],
);

export const deployments = sqliteTable("deployments", {
  modelId: integer("model_id").primaryKey().references(() => models.id),
  /** Bumped by `reshuffle`; part of the bucketing salt. */
  epoch: integer("epoch").notNull().default(0),
  /** The request as given (variants by version or alias, shadows, fallback) as JSON. */
  spec: text("spec", { mode: "json" }).notNull(),
  /** `[start, end, variant]` ranges as JSON. */
  allocation: text("allocation", { mode: "json" }).notNull(),
  /** Incremented on every change; the resource version for `If-Match`. */
  revision: integer("revision").notNull().default(1),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Admin-API tokens with roles; only the sha256 of a token is stored. */
export const tokens = sqliteTable("tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  role: text("role", { enum: ["viewer", "operator", "admin"] }).notNull(),
  hash: text("hash").notNull().unique(),
  createdAt: text("created_at").notNull().default(now),
  createdBy: text("created_by").notNull(),
  revokedAt: text("revoked_at"),
});

export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  hash: text("hash").notNull().unique(),
  models: text("models", { mode: "json" }).notNull(),
  rateLimit: integer("rate_limit"),
  createdAt: text("created_at").notNull().default(now),
  revokedAt: text("revoked_at"),
});

/** Counters such as the snapshot version, bumped inside the batches that change routing. */
export const counters = sqliteTable("counters", {
  name: text("name").primaryKey(),
  value: integer("value").notNull(),
});

/** Deployment-wide values made once, such as the salt of the snapshot's client-key hashes. */
export const settings = sqliteTable("settings", {
  name: text("name").primaryKey(),
  value: text("value").notNull(),
});

export const audit = sqliteTable(
  "audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull().default(now),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    target: text("target").notNull(),
    before: text("before", { mode: "json" }),
    after: text("after", { mode: "json" }),
  },
  (t) => [index("audit_by_target").on(t.target, t.id), index("audit_by_actor").on(t.actor, t.id)],
);

/** The key every rollup window shares: minute, model, version, variant and the shadow flag. */
const windowKey = () => ({
  minute: integer("minute").notNull(),
  model: text("model").notNull(),
  version: integer("version").notNull(),
  variant: text("variant").notNull(),
  shadow: integer("shadow").notNull(),
});

/**
 * Legacy (before rollup shards): prediction log records already counted, keyed by their identity.
 * Per-prediction state no longer lives in D1; the one-time move (rollups/legacy.ts) empties this
 * table, and the legacy tables below, into the rollup shards.
 */
export const ingested = sqliteTable(
  "ingested",
  {
    key: text("key").primaryKey(),
    batch: text("batch").notNull(),
    ...windowKey(),
    error: integer("error").notNull(),
    latencyMs: real("latency_ms").notNull(),
    latencyBucket: integer("latency_bucket").notNull().default(0),
    /** What feedback joins on (`{request_id}` or `{request_id}#{position}`), and the score it judges. */
    requestId: text("request_id").notNull().default(""),
    score: real("score"),
  },
  (t) => [index("ingested_by_batch").on(t.batch), index("ingested_by_minute").on(t.minute), index("ingested_by_request").on(t.requestId)],
);

/** Legacy: per-minute counts, now held by the rollup shards (emptied by the one-time move). */
export const rollups = sqliteTable(
  "rollups",
  {
    ...windowKey(),
    count: integer("count").notNull(),
    errors: integer("errors").notNull(),
    latencySumMs: real("latency_sum_ms").notNull(),
    latencyMaxMs: real("latency_max_ms").notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.version, t.variant, t.shadow, t.minute] })],
);


/** Legacy: labels, now held by the rollup shard of the prediction they label (emptied by the one-time move). */
export const feedback = sqliteTable(
  "feedback",
  {
    target: text("target").primaryKey(),
    label: real("label").notNull(),
    ts: integer("ts").notNull(),
    keyId: text("key_id").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [index("feedback_by_ts").on(t.ts)],
);

/** Legacy: per-minute drift histograms, now held by the rollup shards (emptied by the one-time move). */
export const rollupBins = sqliteTable(
  "rollup_bins",
  {
    ...windowKey(),
    /** A feature name, or `__prediction__`. */
    feature: text("feature").notNull(),
    /** The bin index; -1 counts defaulted values. */
    bin: integer("bin").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.version, t.feature, t.minute, t.variant, t.shadow, t.bin] })],
);

/** ADWIN state over each version's stream of labelled errors (concept drift). */
export const conceptState = sqliteTable(
  "concept_state",
  {
    model: text("model").notNull(),
    version: integer("version").notNull(),
    state: text("state", { mode: "json" }).notNull(),
    /** Bumped on every update: writers that read an older revision lose and read again. */
    revision: integer("revision").notNull().default(0),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.model, t.version] })],
);

/** How far each rollup shard's labels have been fed to the ADWIN states (label sequence number). */
export const conceptCursors = sqliteTable(
  "concept_cursors",
  {
    model: text("model").notNull(),
    day: integer("day").notNull(),
    sub: integer("sub").notNull(),
    seq: integer("seq").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.model, t.day, t.sub] })],
);

/**
 * The directory of rollup shards (Durable Objects): one row per model, UTC day and sub-shard, so
 * readers know which shards a window spans and the cron which are due for maintenance. Small: it
 * grows with models × days, never with traffic.
 */
export const rollupShards = sqliteTable(
  "rollup_shards",
  {
    model: text("model").notNull(),
    /** Days since the epoch (UTC). */
    day: integer("day").notNull(),
    sub: integer("sub").notNull(),
    /** Sub-shards the day has, fixed when its first shard was created. */
    subs: integer("subs").notNull(),
    /** When the shard next has maintenance due (compaction, pruning, retention), epoch ms. */
    nextMaintenanceAt: integer("next_maintenance_at").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.model, t.day, t.sub] }), index("rollup_shards_due").on(t.nextMaintenanceAt)],
);

/** Per-model log settings: redaction list (and the salt its hashes use), lake retention, sub-shards. */
export const logSettings = sqliteTable("log_settings", {
  modelId: integer("model_id").primaryKey().references(() => models.id),
  redact: text("redact", { mode: "json" }).notNull(),
  salt: text("salt").notNull(),
  retentionDays: integer("retention_days"),
  subshards: integer("subshards"),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Dead batches of either consumer: the messages sit in the lake bucket under `object_key`. */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    queue: text("queue", { enum: ["prediction-logs", "feedback"] }).notNull(),
    reason: text("reason").notNull(),
    messages: integer("messages").notNull(),
    objectKey: text("object_key").notNull(),
    status: text("status", { enum: ["dead", "redriven"] }).notNull().default("dead"),
    receivedAt: text("received_at").notNull().default(now),
    redrivenAt: text("redriven_at"),
    redrivenBy: text("redriven_by"),
  },
  (t) => [index("dead_letters_by_status").on(t.status, t.receivedAt)],
);

/** Legacy: per-minute latency histograms, now held by the rollup shards (emptied by the one-time move). */
export const rollupLatency = sqliteTable(
  "rollup_latency",
  {
    ...windowKey(),
    bucket: integer("bucket").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.model, t.version, t.variant, t.shadow, t.minute, t.bucket] })],
);

/** Staged rollouts: a candidate takes growing traffic steps until promoted or rolled back. */
export const rollouts = sqliteTable(
  "rollouts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    modelId: integer("model_id").notNull().references(() => models.id),
    alias: text("alias").notNull(),
    candidate: integer("candidate").notNull(),
    /** The version the alias pointed to when the rollout started. */
    baseline: integer("baseline"),
    /** Candidate weights in basis points, e.g. [1000, 5000, 10000]. */
    steps: text("steps", { mode: "json" }).notNull(),
    intervalS: integer("interval_s").notNull(),
    step: integer("step").notNull().default(0),
    status: text("status", { enum: ["running", "completed", "rolled_back", "cancelled"] }).notNull(),
    /** The deployment before the rollout, restored when it ends. */
    previousDeployment: text("previous_deployment", { mode: "json" }),
    stepStartedAt: integer("step_started_at").notNull(),
    lastDecision: text("last_decision", { mode: "json" }),
    actor: text("actor").notNull(),
    reason: text("reason"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("rollouts_by_status").on(t.status, t.modelId)],
);

/** Per-model drift thresholds over the defaults (see shared/drift.ts). */
export const driftSettings = sqliteTable("drift_settings", {
  modelId: integer("model_id").primaryKey().references(() => models.id),
  thresholds: text("thresholds", { mode: "json" }).notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Declarative promotion rules, one per model (see shared/promotion.ts). */
export const promotionRules = sqliteTable("promotion_rules", {
  modelId: integer("model_id").primaryKey().references(() => models.id),
  rule: text("rule", { mode: "json" }).notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Alerts: drift, guardrail breaches, sample-ratio mismatch. One open alert per subject (dedup). */
export const alerts = sqliteTable(
  "alerts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    model: text("model").notNull(),
    version: integer("version").notNull().default(0),
    kind: text("kind", { enum: ["drift", "guardrail", "sample_ratio_mismatch", "concept_drift"] }).notNull(),
    /** What it is about: a feature, `__prediction__`, a metric, or a variant. */
    subject: text("subject").notNull(),
    status: text("status", { enum: ["open", "acknowledged", "resolved"] }).notNull().default("open"),
    details: text("details", { mode: "json" }).notNull(),
    openedAt: text("opened_at").notNull().default(now),
    lastSeenAt: text("last_seen_at").notNull().default(now),
    ackedBy: text("acked_by"),
    ackedAt: text("acked_at"),
  },
  (t) => [uniqueIndex("alerts_one_open").on(t.model, t.version, t.kind, t.subject).where(sql`status = 'open'`), index("alerts_by_status").on(t.status, t.id)],
);

/** Where alerts go: each webhook gets every new alert, signed with its own secret. */
export const webhooks = sqliteTable("webhooks", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  secret: text("secret").notNull(),
  createdAt: text("created_at").notNull().default(now),
  revokedAt: text("revoked_at"),
});

/** The delivery outbox: retried with exponential backoff until delivered or given up. */
export const deliveries = sqliteTable(
  "deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    webhookId: text("webhook_id").notNull(),
    alertId: integer("alert_id").notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed"] }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    lastError: text("last_error"),
    /** A sender's lease (epoch ms): overlapping cron runs skip a delivery another run holds, so none goes out twice. */
    claimedUntil: integer("claimed_until"),
    /** Which sender holds the lease: only it records the outcome. */
    claimToken: text("claim_token"),
  },
  (t) => [uniqueIndex("deliveries_once").on(t.webhookId, t.alertId), index("deliveries_due").on(t.status, t.nextAttemptAt)],
);


/** Schedules of recurring trainer pipelines; trainers read them and claim their runs here. */
export const schedules = sqliteTable("schedules", {
  id: text("id").primaryKey(),
  /** The validated schedule (cron, time zone, task, trigger, retry policy) as JSON. */
  spec: text("spec", { mode: "json" }).notNull(),
  paused: integer("paused", { mode: "boolean" }).notNull().default(false),
  revision: integer("revision").notNull().default(1),
  /** Cron times before this (ms) are never run: set on creation, resume, and a change of cron. */
  activeSince: integer("active_since").notNull(),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
  createdBy: text("created_by").notNull(),
});

/**
 * One row per occurrence of a schedule: the primary key is the claim, so two trainers can never
 * both start the same occurrence; attempts move it on by conditional updates.
 */
export const scheduleRuns = sqliteTable(
  "schedule_runs",
  {
    scheduleId: text("schedule_id").notNull(),
    /** The cron time (or the "run now" time), ISO with milliseconds. */
    occurrence: text("occurrence").notNull(),
    reason: text("reason", { enum: ["cron", "manual"] }).notNull(),
    status: text("status", { enum: ["pending", "running", "retry_wait", "succeeded", "failed", "skipped"] }).notNull(),
    attempt: integer("attempt").notNull().default(0),
    runner: text("runner"),
    leaseUntil: integer("lease_until"),
    nextAttemptAt: integer("next_attempt_at"),
    result: text("result", { mode: "json" }),
    error: text("error"),
    fingerprint: text("fingerprint"),
    attempts: text("attempts", { mode: "json" }).notNull(),
    createdAt: text("created_at").notNull().default(now),
    finishedAt: text("finished_at"),
  },
  (t) => [primaryKey({ columns: [t.scheduleId, t.occurrence] }), index("schedule_runs_by_status").on(t.status)],
);

/**
 * One row whose CHECK fails on purpose: a batch that starts by writing `ok = 0` here aborts
 * whole, which is how optimistic preconditions are enforced inside an atomic D1 batch.
 */
export const preconditions = sqliteTable(
  "preconditions",
  {
    id: integer("id").primaryKey(),
    ok: integer("ok").notNull(),
  },
  (t) => [check("precondition", sql`${t.ok} = 1`)],
);
