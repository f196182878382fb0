// The one monitoring reader: metrics, drift and experiment reports, the alert sweep and promotion
// rules all read rollups here. A window's shards (from the directory) are asked in parallel and
// their answers merged; rollups are sums, so the merge is exact, and the cost grows with shards,
// bins and steps, never with traffic.
import { mergeRollups, windowMetrics, type Slice, type WindowMetrics, type WindowRollup } from "@verge/shared";
import type { Db } from "../db/client.ts";
import { mapLimit, shardsBetween, shardStub } from "./directory.ts";
import { dayOf, type RollupPart } from "./shard-types.ts";

export interface Window {
  /** Epoch ms, [from, to). */
  from: number;
  to: number;
}

export interface ReadOptions {
  /** Group by this many minutes (a time series); one total per group when absent. */
  step?: number | undefined;
  version?: number | undefined;
  parts: RollupPart[];
}

/** Shards asked at once: each is its own Durable Object, so this is the fan-out's width. */
const FAN_OUT = 32;

/** A model's rollups over a window: minutes [⌊from⌋, ⌈to⌉), from every shard of the days it touches. */
export async function readWindow(env: Env, d: Db, model: string, w: Window, o: ReadOptions): Promise<WindowRollup> {
  const from = Math.floor(w.from / 60_000);
  const to = Math.ceil(w.to / 60_000);
  if (to <= from) return mergeRollups([]);
  const shards = await shardsBetween(d, model, dayOf(w.from), dayOf(w.to - 1));
  const query = { from, to, step: o.step, version: o.version, parts: o.parts };
  const answers = await mapLimit(shards, FAN_OUT, (ref) => shardStub(env, ref).query(query));
  return mergeRollups(answers);
}

/** Metrics of several slices of one window (variants, versions), read once. */
export async function readMetrics(env: Env, d: Db, model: string, w: Window, slices: readonly Slice[]): Promise<WindowMetrics[]> {
  const rollup = await readWindow(env, d, model, w, { parts: ["counts", "latency", "quality"] });
  return slices.map((s) => windowMetrics(rollup, s));
}
