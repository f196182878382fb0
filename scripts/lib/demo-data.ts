// A synthetic offline store for the `churn` example: feature snapshots of a `user_activity` view
// taken weekly, and label events whose outcome follows a known logistic model of the features
// as they were at the event's time. `npm start` writes it once; tests write their own copies.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { FeatureSpec } from "@verge/shared";

export const CHURN_SPEC: FeatureSpec = {
  input: "input",
  views: [{ name: "user_activity", entity: "user_id", max_age_s: 30 * 86_400 }],
  features: [
    { name: "tenure_months", type: "number", default: 0, view: "user_activity" },
    { name: "sessions_7d", type: "number", default: 0, view: "user_activity" },
    { name: "plan", type: "categorical", vocabulary: ["free", "pro", "team"], default: "free" },
    { name: "is_member", type: "boolean", default: false },
  ],
};

/** The true model: P(churn) = sigmoid(1.2 − 0.08·tenure − 0.35·sessions + plan + member). */
export function churnProbability(tenure: number, sessions: number, plan: string, member: boolean): number {
  const planTerm = plan === "pro" ? -0.6 : plan === "team" ? -1.1 : 0;
  const z = 1.2 - 0.08 * tenure - 0.35 * sessions + planTerm + (member ? -0.4 : 0);
  return 1 / (1 + Math.exp(-z));
}

export const DAY = 86_400_000;

export interface ChurnDataOptions {
  users?: number;
  events?: number;
  /** Time of the first snapshot (epoch ms; default: `weeks` weeks ago); snapshots are weekly over `weeks`. */
  start?: number;
  weeks?: number;
  seed?: number;
}

/** Writes `churn/labels.parquet` and `churn/user_activity.parquet` under `root`; returns what it wrote. */
export async function writeChurnData(root: string, o: ChurnDataOptions = {}) {
  const users = o.users ?? 2000;
  const events = o.events ?? 20_000;
  const weeks = o.weeks ?? 12;
  // The latest snapshots are recent by default, so they are fresh for the view's max age.
  const start = o.start ?? Math.floor(Date.now() / DAY) * DAY - weeks * 7 * DAY;
  let seed = o.seed ?? 7;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
  const dir = join(root, "churn");
  mkdirSync(dir, { recursive: true });

  // snapshots[u][w] = [tenure, sessions] as of start + w weeks
  const snapshots: [number, number][][] = [];
  const activity = ["user_id,ts,tenure_months,sessions_7d"];
  for (let u = 0; u < users; u++) {
    const base = Math.floor(rand() * 48);
    const engagement = rand() * 8;
    const row: [number, number][] = [];
    for (let w = 0; w < weeks; w++) {
      const s: [number, number] = [base + Math.floor(w / 4), Math.max(0, Math.round(engagement + (rand() - 0.5) * 4))];
      row.push(s);
      activity.push(`u${u},${start + w * 7 * DAY},${s[0]},${s[1]}`);
    }
    snapshots.push(row);
  }
  const plans = ["free", "pro", "team"];
  const labels = ["user_id,ts,label,plan,is_member"];
  const truth: { ts: number; p: number; y: number }[] = [];
  for (let e = 0; e < events; e++) {
    const u = Math.floor(rand() * users);
    const ts = start + Math.floor(rand() * weeks * 7 * DAY);
    const [tenure, sessions] = snapshots[u]![Math.floor((ts - start) / (7 * DAY))]!;
    const plan = plans[Math.floor(rand() * 3)]!;
    const member = rand() < 0.3;
    const p = churnProbability(tenure, sessions, plan, member);
    const y = rand() < p ? 1 : 0;
    truth.push({ ts, p, y });
    labels.push(`u${u},${ts},${y},${plan},${member}`);
  }
  const instance = await DuckDBInstance.create(":memory:");
  const db = await instance.connect();
  for (const [name, lines] of [["user_activity", activity], ["labels", labels]] as const) {
    const csv = join(dir, `${name}.csv`);
    writeFileSync(csv, `${lines.join("\n")}\n`);
    await db.run(`COPY (SELECT * FROM read_csv_auto('${csv}')) TO '${join(dir, `${name}.parquet`)}' (FORMAT parquet)`);
    rmSync(csv);
  }
  db.closeSync();
  instance.closeSync();
  return { dir, users, events, start, end: start + weeks * 7 * DAY, snapshots, truth };
}

/** The job that trains the churn model on that data. */
export function churnJob(overrides: Record<string, unknown> = {}) {
  return {
    model: "churn",
    algorithm: "logreg",
    dataset: { labels: { path: "churn/labels.parquet" }, views: { user_activity: { path: "churn/user_activity.parquet" } } },
    feature_spec: CHURN_SPEC,
    params: {},
    stage: true,
    ...overrides,
  };
}
