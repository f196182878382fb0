// A rollup shard: a SQLite-backed Durable Object holding one model's predictions of one UTC day
// (or a hash sub-shard of it). It folds each record exactly once (its own identities, kept for the
// queue's redelivery horizon), holds minute rollups and the feedback join rows, answers aggregate
// queries, compacts itself as it ages, and writes its folds' records to the log lake through an
// outbox committed with the fold. A Durable Object runs one call at a time, so concurrent folds of
// the same records serialize here and the second finds them counted.
import { DurableObject } from "cloudflare:workers";
import { scoreBin, type WindowRollup } from "@verge/shared";
import { lakeKey } from "../lake/keys.ts";
import type { ShardFold } from "./fold.ts";
import { SHARD_SCHEMA, UPSERT } from "./shard-schema.ts";
import type { FoldRequest, FoldResult, LabelItem, LabelOutcome, LegacyChunk, MaintenancePolicy, MaintenanceResult, ShardQuery, ShardRef, ShardStats } from "./shard-types.ts";
import { aligner, maintain } from "./shard-upkeep.ts";

const VARIANT = 0;
const FEATURE = 1;

/** Thrown inside the fold's transaction to roll it back when only some records are new. */
class PartialFold {}

export class RollupShard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly ids = new Map<string, number>();
  private readonly names = new Map<number, string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    for (const statement of SHARD_SCHEMA) this.sql.exec(statement);
    this.reloadNames();
  }

  async fold(req: FoldRequest): Promise<FoldResult> {
    const started = Date.now();
    this.identify(req.shard);
    if (this.meta("pruned")) return { status: "expired", ms: Date.now() - started };
    const { predictions } = req.fold;
    let counted: number;
    try {
      counted = this.ctx.storage.transactionSync(() => {
        // One statement for every identity, the rows as one JSON parameter: a record whose
        // identity is already here is not inserted.
        const rows = predictions.map(([target, version, shadow, minute, variant, error, score]) => [target, version, shadow, minute, this.id(VARIANT, variant), error, score]);
        this.sql.exec(
          `INSERT INTO predictions (target, version, shadow, minute, variant, error, score)
           SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`,
          JSON.stringify(rows),
        );
        const inserted = this.sql.exec<{ n: number }>("SELECT changes() AS n").one().n;
        if (inserted === 0) return 0;
        // The sums were added up for all the records: with some counted before, write nothing.
        if (inserted < predictions.length) throw new PartialFold();
        this.addSums(req.fold);
        for (const part of req.lake) {
          const seq = Number(this.meta("lake_seq") ?? 0) + 1;
          this.setMeta("lake_seq", seq);
          this.sql.exec("INSERT INTO outbox (seq, key, body, records) VALUES (?, ?, ?, ?)", seq, lakeKey(req.shard, part.hour, seq), part.body, part.records);
        }
        return predictions.length;
      });
    } catch (err) {
      // Rolled back: names first seen in this fold may be gone from the table again.
      this.reloadNames();
      if (err instanceof PartialFold) return { status: "partial", fresh: this.fresh(predictions), ms: Date.now() - started };
      throw err;
    }
    if (counted === 0) return { status: "duplicate", duplicates: predictions.length, ms: Date.now() - started };
    const ms = Date.now() - started;
    await this.flushOutbox();
    return { status: "counted", counted, ms };
  }

  /** The indexes of the predictions whose identities this shard does not hold yet. */
  private fresh(predictions: FoldRequest["fold"]["predictions"]): number[] {
    const held = new Set(
      this.sql
        .exec<{ k: string }>(
          `SELECT version || '|' || shadow || '|' || target AS k FROM predictions
           WHERE (target, version, shadow) IN (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?))`,
          JSON.stringify(predictions.map(([target, version, shadow]) => [target, version, shadow])),
        )
        .toArray()
        .map((r) => r.k),
    );
    return predictions.flatMap(([target, version, shadow], i) => (held.has(`${version}|${shadow}|${target}`) ? [] : [i]));
  }

  /** Applies labels to this shard's predictions: the first label of a prediction stands. */
  label(shard: ShardRef, items: LabelItem[]): LabelOutcome[] {
    this.identify(shard);
    return this.ctx.storage.transactionSync(() => items.map((item) => this.applyLabel(item, () => this.nextLabelSeq())));
  }

  /** Labelled errors after `seq` (for concept drift), oldest first. */
  labelsSince(seq: number, limit = 5000): { items: { seq: number; version: number; error: 0 | 1 }[]; last: number } {
    const rows = this.sql.exec<{ seq: number; version: number; score: number | null; label: number }>("SELECT label_seq AS seq, version, score, label FROM predictions WHERE label_seq > ? ORDER BY label_seq LIMIT ?", seq, limit).toArray();
    const items: { seq: number; version: number; error: 0 | 1 }[] = [];
    for (const r of rows) {
      const error = binaryError(r.score, r.label);
      if (error !== null) items.push({ seq: r.seq, version: r.version, error });
    }
    return { items, last: rows.at(-1)?.seq ?? seq };
  }

  /** The labels of these predictions (primaries), for the log lake's labelled reads. */
  labelsFor(targets: string[]): Record<string, { label: number; ts: number }> {
    const out: Record<string, { label: number; ts: number }> = {};
    for (const target of targets) {
      const row = this.sql.exec<{ label: number; ts: number }>("SELECT label, label_ts AS ts FROM predictions WHERE target = ? AND shadow = 0 AND label IS NOT NULL LIMIT 1", target).toArray()[0];
      if (row) out[target] = row;
    }
    return out;
  }

  query(q: ShardQuery): WindowRollup {
    const step = q.step ? Math.max(1, Math.floor(q.step)) : 0;
    const t = step ? `(t / ${step}) * ${step}` : "0";
    const where = `t >= ? AND t < ?${q.version !== undefined ? " AND version = ?" : ""}`;
    const args = q.version !== undefined ? [q.from, q.to, q.version] : [q.from, q.to];
    const out: WindowRollup = { counts: [], latency: [], bins: [], quality: [] };
    const name = (id: number) => this.names.get(id) ?? String(id);
    if (q.parts.includes("counts")) {
      for (const r of this.sql.exec<{ t: number; version: number; variant: number; shadow: number; c: number; e: number; s: number; m: number }>(
        `SELECT ${t} AS t, version, variant, shadow, sum(count) AS c, sum(errors) AS e, sum(latency_sum) AS s, max(latency_max) AS m FROM counts WHERE ${where} GROUP BY 1, 2, 3, 4`,
        ...args,
      )) {
        out.counts.push({ t: r.t, version: r.version, variant: name(r.variant), shadow: r.shadow === 1, count: r.c, errors: r.e, latency_sum_ms: r.s, latency_max_ms: r.m });
      }
    }
    if (q.parts.includes("latency")) {
      for (const r of this.sql.exec<{ t: number; version: number; variant: number; shadow: number; bucket: number; c: number }>(
        `SELECT ${t} AS t, version, variant, shadow, bucket, sum(count) AS c FROM latency WHERE ${where} GROUP BY 1, 2, 3, 4, 5`,
        ...args,
      )) {
        out.latency.push({ t: r.t, version: r.version, variant: name(r.variant), shadow: r.shadow === 1, bucket: r.bucket, count: r.c });
      }
    }
    if (q.parts.includes("bins")) {
      for (const r of this.sql.exec<{ version: number; feature: number; bin: number; c: number }>(`SELECT version, feature, bin, sum(count) AS c FROM bins WHERE ${where} GROUP BY 1, 2, 3`, ...args)) {
        out.bins.push({ version: r.version, feature: name(r.feature), bin: r.bin, count: r.c });
      }
    }
    if (q.parts.includes("quality")) {
      for (const r of this.sql.exec<{ t: number; version: number; variant: number; bin: number; n: number; p: number; l: number; a: number; s: number; c: number }>(
        `SELECT ${t} AS t, version, variant, bin, sum(n) AS n, sum(positives) AS p, sum(label_sum) AS l, sum(abs_error_sum) AS a, sum(sq_error_sum) AS s, sum(conflicts) AS c FROM quality WHERE ${where} GROUP BY 1, 2, 3, 4`,
        ...args,
      )) {
        out.quality.push({ t: r.t, version: r.version, variant: name(r.variant), bin: r.bin, n: r.n, positives: r.p, label_sum: r.l, abs_error_sum: r.a, sq_error_sum: r.s, conflicts: r.c });
      }
    }
    return out;
  }

  async maintain(shard: ShardRef, policy: MaintenancePolicy): Promise<MaintenanceResult> {
    this.identify(shard);
    await this.flushOutbox();
    const result = this.ctx.storage.transactionSync(() => maintain(this.sql, shard.day, policy, (k) => this.meta(k), (k, v) => this.setMeta(k, v)));
    if (result.deleted) {
      await this.ctx.storage.deleteAll();
      // Past retention: an empty shard that refuses folds, should a very late record still come.
      for (const statement of SHARD_SCHEMA) this.sql.exec(statement);
      this.setMeta("name", `${shard.model}/${shard.day}/${shard.sub}`);
      this.setMeta("pruned", 1);
      this.reloadNames();
    }
    return result;
  }

  /** Adds one chunk of the D1 legacy tables, once: a repeated chunk id changes nothing. */
  importLegacy(shard: ShardRef, chunk: string, data: LegacyChunk): boolean {
    this.identify(shard);
    return this.ctx.storage.transactionSync(() => {
      if (this.sql.exec("INSERT INTO imports VALUES (?) ON CONFLICT DO NOTHING", chunk).rowsWritten === 0) return false;
      this.addSums({ predictions: [], counts: data.counts, latency: data.latency, bins: data.bins });
      for (const [target, version, shadow, minute, variant, error, score] of data.predictions) {
        this.sql.exec("INSERT INTO predictions (target, version, shadow, minute, variant, error, score) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", target, version, shadow, minute, this.id(VARIANT, variant), error, score);
      }
      // Moved labels were fed to concept drift already: sequence 0 keeps them out of its cursor.
      for (const item of data.labels) this.applyLabel(item, () => 0);
      return true;
    });
  }

  stats(): ShardStats {
    const n = (q: string) => Number(this.sql.exec<{ n: number }>(q).one().n);
    return {
      predictions: n("SELECT count(*) AS n FROM predictions"),
      labelled: n("SELECT count(*) AS n FROM predictions WHERE label IS NOT NULL"),
      rollupRows: n("SELECT (SELECT count(*) FROM counts) + (SELECT count(*) FROM latency) + (SELECT count(*) FROM bins) + (SELECT count(*) FROM quality) AS n"),
      outbox: n("SELECT count(*) AS n FROM outbox"),
      bytes: this.sql.databaseSize,
      pruned: Boolean(this.meta("pruned")),
      joinsDropped: Boolean(this.meta("joins_dropped")),
      times: this.sql.exec<{ t: number }>("SELECT DISTINCT t FROM counts ORDER BY t").toArray().map((r) => r.t),
    };
  }

  /** Retries lake writes a fold could not finish. */
  override async alarm(): Promise<void> {
    await this.flushOutbox();
  }

  private async flushOutbox(): Promise<void> {
    const pending = this.sql.exec<{ seq: number; key: string; body: ArrayBuffer; records: number }>("SELECT seq, key, body, records FROM outbox ORDER BY seq LIMIT 50").toArray();
    try {
      for (const p of pending) {
        // Keys are fixed per fold: writing one twice (a retry) leaves the same object.
        // Stored as a gzip file (no Content-Encoding), so S3 clients and engines get the bytes as named.
        await this.env.LOGS.put(p.key, p.body, { httpMetadata: { contentType: "application/gzip" }, customMetadata: { records: String(p.records) } });
        this.sql.exec("DELETE FROM outbox WHERE seq = ?", p.seq);
      }
    } catch (err) {
      console.error(`lake write failed, retrying in 30 s: ${(err as Error).message}`);
      await this.ctx.storage.setAlarm(Date.now() + 30_000);
      return;
    }
    if (pending.length === 50) await this.ctx.storage.setAlarm(Date.now());
  }

  private addSums(fold: ShardFold): void {
    const align = aligner((k) => this.meta(k));
    for (const [m, version, variant, shadow, count, errors, sum, max] of fold.counts) this.sql.exec(UPSERT.counts, align(m), version, this.id(VARIANT, variant), shadow, count, errors, sum, max);
    for (const [m, version, variant, shadow, bucket, count] of fold.latency) this.sql.exec(UPSERT.latency, align(m), version, this.id(VARIANT, variant), shadow, bucket, count);
    for (const [m, version, feature, bin, count] of fold.bins) this.sql.exec(UPSERT.bins, align(m), version, this.id(FEATURE, feature), bin, count);
  }

  private applyLabel(item: LabelItem, seq: () => number): LabelOutcome {
    const rows = this.sql.exec<{ version: number; variant: number; minute: number; score: number | null; label: number | null }>(
      "SELECT version, variant, minute, score, label FROM predictions WHERE target = ? AND shadow = 0 AND error = 0",
      item.target,
    ).toArray();
    if (rows.length === 0) return { status: "missing" };
    const align = aligner((k) => this.meta(k));
    if (rows[0]!.label !== null) {
      if (rows.every((r) => r.label === item.label)) return { status: "duplicate" };
      // The first label stands; a disagreeing one is counted where its prediction is reported.
      for (const r of rows) this.sql.exec(UPSERT.quality, align(r.minute), r.version, r.variant, scoreBin(r.score), 0, 0, 0, 0, 0, 1);
      return { status: "conflict" };
    }
    this.sql.exec("UPDATE predictions SET label = ?, label_ts = ?, label_seq = ? WHERE target = ? AND shadow = 0 AND error = 0", item.label, item.ts, seq(), item.target);
    for (const r of rows) {
      const err = r.score === null ? 0 : r.score - item.label;
      this.sql.exec(UPSERT.quality, align(r.minute), r.version, r.variant, scoreBin(r.score), 1, item.label >= 0.5 ? 1 : 0, item.label, Math.abs(err), err * err, 0);
    }
    return { status: "applied", version: rows[0]!.version, error: binaryError(rows[0]!.score, item.label) };
  }

  private nextLabelSeq(): number {
    const seq = Number(this.meta("label_seq") ?? 0) + 1;
    this.setMeta("label_seq", seq);
    return seq;
  }

  /** Records which shard this is on first use; a call meant for another shard is a bug, refused. */
  private identify(shard: ShardRef): void {
    const name = `${shard.model}/${shard.day}/${shard.sub}`;
    const known = this.meta("name");
    if (known === undefined) this.setMeta("name", name);
    else if (known !== name) throw new Error(`rollup shard ${String(known)} was called as ${name}`);
  }

  private id(kind: number, name: string): number {
    const known = this.ids.get(`${kind}:${name}`);
    if (known !== undefined) return known;
    const row = this.sql.exec<{ id: number }>("INSERT INTO names (kind, name) VALUES (?, ?) ON CONFLICT DO UPDATE SET name = excluded.name RETURNING id", kind, name).one();
    this.remember(kind, name, row.id);
    return row.id;
  }

  private reloadNames(): void {
    this.ids.clear();
    this.names.clear();
    for (const r of this.sql.exec<{ id: number; kind: number; name: string }>("SELECT id, kind, name FROM names")) this.remember(r.kind, r.name, r.id);
  }

  private remember(kind: number, name: string, id: number): void {
    this.ids.set(`${kind}:${name}`, id);
    this.names.set(id, name);
  }

  private meta(k: string): SqlStorageValue | undefined {
    return this.sql.exec<{ v: SqlStorageValue }>("SELECT v FROM meta WHERE k = ?", k).toArray()[0]?.v ?? undefined;
  }

  private setMeta(k: string, v: SqlStorageValue): void {
    this.sql.exec("INSERT INTO meta VALUES (?, ?) ON CONFLICT DO UPDATE SET v = excluded.v", k, v);
  }
}

/** The binary error of a 0/1 label on a score in [0, 1]; null for anything else. */
function binaryError(score: number | null, label: number): 0 | 1 | null {
  if (score === null || score < 0 || score > 1 || (label !== 0 && label !== 1)) return null;
  return (score >= 0.5 ? 1 : 0) === label ? 0 : 1;
}
