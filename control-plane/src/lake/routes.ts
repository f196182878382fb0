// GET /v1/models/{model}/logs: the records as served, from the log lake, as NDJSON — hour by hour,
// each hour's objects in key order, each object's records in the order they were counted. A page
// holds at most `limit` records; `x-verge-next-cursor` continues it. With `labels`, each record
// carries the feedback label of its prediction (from its rollup shard).
import { and, eq } from "drizzle-orm";
import { ApiError, logsQuerySchema, type LabelledFields, type LogRecord } from "@verge/shared";
import { db, findModel, type Db } from "../db/client.ts";
import { rollupShards } from "../db/schema.ts";
import { newApp, validate } from "../http/app.ts";
import { guard } from "../http/auth.ts";
import { controlPlaneApi as api } from "@verge/shared/api/control-plane";
import { modelParam } from "../registry/models.ts";
import { mapLimit, shardStub, subOf } from "../rollups/directory.ts";
import { windowOf } from "../rollups/routes.ts";
import { dayOf } from "../rollups/shard-types.ts";
import { HOUR_MS, hourPrefix } from "./keys.ts";

/** Where a page stopped: the hour, the last object read from, and the next line in it. */
interface Cursor {
  h: number;
  k: string;
  l: number;
}

/** Lines read per request at most, matched or not: a narrow filter over a wide window pages instead of running long. */
const SCAN_BUDGET = 200_000;

export const logRoutes = newApp().get("/:model/logs", guard(api.logs), validate("param", modelParam), validate("query", logsQuerySchema), async (c) => {
  const d = db(c.env);
  const model = await findModel(d, c.req.valid("param").model);
  const q = c.req.valid("query");
  const { from, to } = windowOf(q);
  if (!(to > from)) throw new ApiError("bad_request", "from: must be before to");
  const start = q.cursor ? decodeCursor(q.cursor) : { h: Math.floor(from / HOUR_MS), k: "", l: 0 };
  const lastHour = Math.floor((to - 1) / HOUR_MS);
  const out: (LogRecord & Partial<LabelledFields>)[] = [];
  let scanned = 0;
  let next: Cursor | undefined;
  scan: for (let h = Math.max(start.h, Math.floor(from / HOUR_MS)); h <= lastHour; h++) {
    let listCursor: string | undefined;
    do {
      const page = await c.env.LOGS.list({ prefix: hourPrefix(model.name, h), ...(h === start.h && start.k ? { startAfter: keyBefore(start.k) } : {}), ...(listCursor ? { cursor: listCursor } : {}) });
      for (const object of page.objects) {
        const lines = await readObject(c.env, object.key);
        const first = h === start.h && object.key === start.k ? start.l : 0;
        const matched: { record: LogRecord; line: number }[] = [];
        for (let i = first; i < lines.length; i++) {
          const record = JSON.parse(lines[i]!) as LogRecord;
          scanned++;
          if (record.ts < from || record.ts >= to || (q.version !== undefined && record.version !== q.version) || (q.variant !== undefined && record.variant !== q.variant)) continue;
          matched.push({ record, line: i });
        }
        const labelled = q.labels ? await withLabels(c.env, d, model.name, matched.map((m) => m.record), q.labels === "only") : matched.map((m) => m.record);
        for (let i = 0; i < matched.length; i++) {
          const record = labelled[i];
          if (!record) continue;
          if (out.length === q.limit) {
            next = { h, k: object.key, l: matched[i]!.line };
            break scan;
          }
          out.push(record);
        }
        if (scanned >= SCAN_BUDGET) {
          next = { h, k: object.key, l: lines.length };
          break scan;
        }
      }
      listCursor = page.truncated ? page.cursor : undefined;
    } while (listCursor);
  }
  const headers: Record<string, string> = { "content-type": "application/x-ndjson; charset=utf-8", "x-verge-records": String(out.length) };
  if (next) headers["x-verge-next-cursor"] = encodeCursor(next);
  return new Response(out.map((r) => JSON.stringify(r)).join("\n") + (out.length ? "\n" : ""), { headers });
});

/** An object's NDJSON lines (the lake stores them gzipped). */
export async function readObject(env: Env, key: string): Promise<string[]> {
  const object = await env.LOGS.get(key);
  if (!object) return [];
  const text = await new Response(object.body.pipeThrough(new DecompressionStream("gzip"))).text();
  return text.split("\n").filter((l) => l.length > 0);
}

/** The key just before `key`, so a listing starting after it includes `key` itself. */
const keyBefore = (key: string) => key.slice(0, -1) + String.fromCharCode(key.charCodeAt(key.length - 1) - 1) + "\uffff";

/**
 * Each record with the label of its prediction, from the prediction's shard (shadows and errors
 * carry none); with `only`, null in place of an unlabelled record. Aligned with `records`.
 */
async function withLabels(env: Env, d: Db, model: string, records: LogRecord[], only: boolean): Promise<((LogRecord & LabelledFields) | null)[]> {
  const subsByDay = new Map<number, number>();
  for (const day of new Set(records.map((r) => dayOf(r.ts)))) {
    const row = await d.select({ subs: rollupShards.subs }).from(rollupShards).where(and(eq(rollupShards.model, model), eq(rollupShards.day, day))).limit(1).get();
    subsByDay.set(day, row?.subs ?? 1);
  }
  const asks = new Map<string, { ref: { model: string; day: number; sub: number }; targets: Set<string> }>();
  for (const r of records) {
    if (r.shadow || r.status !== "ok") continue;
    const day = dayOf(r.ts);
    const ref = { model, day, sub: subOf(r.request_id, subsByDay.get(day)!) };
    const name = `${day}/${ref.sub}`;
    if (!asks.has(name)) asks.set(name, { ref, targets: new Set() });
    asks.get(name)!.targets.add(r.request_id);
  }
  const labels = new Map<string, { label: number; ts: number }>();
  await mapLimit([...asks.values()], 8, async (a) => {
    const found = await shardStub(env, a.ref).labelsFor([...a.targets]);
    for (const [target, l] of Object.entries(found)) labels.set(`${a.ref.day}/${target}`, l);
  });
  return records.map((r) => {
    const l = !r.shadow && r.status === "ok" ? labels.get(`${dayOf(r.ts)}/${r.request_id}`) : undefined;
    return only && !l ? null : { ...r, label: l?.label ?? null, label_ts: l?.ts ?? null };
  });
}

function encodeCursor(c: Cursor): string {
  return btoa(JSON.stringify(c)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/"))) as Cursor;
    if (Number.isSafeInteger(c.h) && typeof c.k === "string" && Number.isSafeInteger(c.l) && c.l >= 0) return c;
  } catch {
    // fall through
  }
  throw new ApiError("bad_request", "cursor: not a cursor this route returned (x-verge-next-cursor)");
}
