// The rollup shard's SQLite tables. A shard holds one model's predictions of one UTC day (or one
// hash sub-shard of it): their identities and feedback join rows, minute rollups (compacted to
// hours, then days, as they age), and the lake outbox. Names (variants, features) are stored once
// as small integers.

export const SHARD_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, name TEXT NOT NULL, UNIQUE (kind, name))`,
  // One row per counted prediction: its identity (target, version, shadow) is the primary key, so
  // a redelivered record finds itself; the rest is what feedback joins on. No other index: the
  // fold writes exactly one row per record.
  `CREATE TABLE IF NOT EXISTS predictions (
     target TEXT NOT NULL, version INTEGER NOT NULL, shadow INTEGER NOT NULL,
     minute INTEGER NOT NULL, variant INTEGER NOT NULL, error INTEGER NOT NULL, score REAL,
     label REAL, label_ts INTEGER, label_seq INTEGER,
     PRIMARY KEY (target, version, shadow)) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS predictions_by_label_seq ON predictions (label_seq) WHERE label_seq IS NOT NULL`,
  `CREATE TABLE IF NOT EXISTS counts (
     t INTEGER NOT NULL, version INTEGER NOT NULL, variant INTEGER NOT NULL, shadow INTEGER NOT NULL,
     count INTEGER NOT NULL, errors INTEGER NOT NULL, latency_sum REAL NOT NULL, latency_max REAL NOT NULL,
     PRIMARY KEY (t, version, variant, shadow)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS latency (
     t INTEGER NOT NULL, version INTEGER NOT NULL, variant INTEGER NOT NULL, shadow INTEGER NOT NULL, bucket INTEGER NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (t, version, variant, shadow, bucket)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS bins (
     t INTEGER NOT NULL, version INTEGER NOT NULL, feature INTEGER NOT NULL, bin INTEGER NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (t, version, feature, bin)) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS quality (
     t INTEGER NOT NULL, version INTEGER NOT NULL, variant INTEGER NOT NULL, bin INTEGER NOT NULL,
     n INTEGER NOT NULL, positives INTEGER NOT NULL, label_sum REAL NOT NULL, abs_error_sum REAL NOT NULL, sq_error_sum REAL NOT NULL,
     conflicts INTEGER NOT NULL,
     PRIMARY KEY (t, version, variant, bin)) WITHOUT ROWID`,
  // Lake objects written in the same transaction as the fold that counted their records, and
  // deleted once they are in R2: each record reaches the lake exactly once.
  `CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, body BLOB NOT NULL, records INTEGER NOT NULL)`,
  // Chunks of the one-time move from D1, applied once each.
  `CREATE TABLE IF NOT EXISTS imports (chunk TEXT PRIMARY KEY) WITHOUT ROWID`,
];

/** Upserts that add a fold's (or a compaction's) sums into the rollup tables. */
export const UPSERT = {
  counts: `INSERT INTO counts VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
    count = count + excluded.count, errors = errors + excluded.errors,
    latency_sum = latency_sum + excluded.latency_sum, latency_max = max(latency_max, excluded.latency_max)`,
  latency: `INSERT INTO latency VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count`,
  bins: `INSERT INTO bins VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count`,
  quality: `INSERT INTO quality VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
    n = n + excluded.n, positives = positives + excluded.positives, label_sum = label_sum + excluded.label_sum,
    abs_error_sum = abs_error_sum + excluded.abs_error_sum, sq_error_sum = sq_error_sum + excluded.sq_error_sum,
    conflicts = conflicts + excluded.conflicts`,
};
