// Validates prediction log records on the consumer's hot path. The schema stays the judge: a
// plain check vouches for the common, well-formed shape, and anything it does not vouch for goes
// through `logRecordSchema`, so exactly the records the schema rejects are rejected.
import { logRecordSchema, type LogRecord } from "@verge/shared";

const shape = logRecordSchema.shape;
const STATUSES: ReadonlySet<unknown> = new Set(shape.status.options);
const REASONS: ReadonlySet<unknown> = new Set(shape.degraded.element.shape.reason.options);
const MAX_FEATURE_STRING = 1024;

/** The fields the plain check knows; if the schema gains or loses one, every record goes through the schema. */
const KNOWN = {
  record: "request_id ts model version variant shadow snapshot_version unit_hash features outputs latency_ms status degraded colo error key_id truncated redacted unknown_features out_of_vocabulary",
  latency: "total features infer",
  degraded: "feature reason",
};
const same = (keys: string[], known: string) => [...keys].sort().join(" ") === known.split(" ").sort().join(" ");
const CHECK_APPLIES = same(Object.keys(shape), KNOWN.record) && same(Object.keys(shape.latency_ms.shape), KNOWN.latency) && same(Object.keys(shape.degraded.element.shape), KNOWN.degraded);

/** The record when `logRecordSchema` accepts it (the input itself, or the schema's output), else undefined. */
export function parseLogRecord(body: unknown): LogRecord | undefined {
  if (CHECK_APPLIES && isWellFormed(body)) return body;
  const parsed = logRecordSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/**
 * True only for values the schema accepts: it is stricter (plain objects only, no `__proto__` or
 * symbol keys), never looser. The schema strips unknown keys; the fold never reads them.
 */
function isWellFormed(r: unknown): r is LogRecord {
  if (!isPlain(r)) return false;
  const x = r as Record<string, unknown>;
  return (
    typeof x.request_id === "string" &&
    isInt(x.ts) &&
    typeof x.model === "string" &&
    isInt(x.version) &&
    typeof x.variant === "string" &&
    typeof x.shadow === "boolean" &&
    isInt(x.snapshot_version) &&
    isInt(x.unit_hash) &&
    everyValue(x.features, isFeatureValue) &&
    everyValue(x.outputs, isOutputValue) &&
    isLatency(x.latency_ms) &&
    STATUSES.has(x.status) &&
    isDegradedList(x.degraded) &&
    typeof x.colo === "string" &&
    optional(x.error, (v) => typeof v === "string" && v.length <= 64) &&
    optional(x.key_id, (v) => typeof v === "string" && v.length <= 128) &&
    optional(x.truncated, isNameList) &&
    optional(x.redacted, isNameList) &&
    optional(x.unknown_features, isNameList) &&
    optional(x.out_of_vocabulary, isNameList)
  );
}

const optional = (v: unknown, valid: (v: unknown) => boolean) => v === undefined || valid(v);

function isNameList(v: unknown): boolean {
  if (!Array.isArray(v) || v.length > 1100) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string" || (v[i] as string).length > 256) return false;
  return true;
}

const isInt = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isPlain = (v: unknown): v is object => typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

function isFeatureValue(v: unknown): boolean {
  return isNumber(v) || v === null || typeof v === "boolean" || (typeof v === "string" && v.length <= MAX_FEATURE_STRING);
}

function isOutputValue(v: unknown): boolean {
  if (isNumber(v)) return true;
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!isNumber(v[i])) return false;
  return true;
}

/** A record (string keys to values): own, enumerable string keys only, each value passing. */
function everyValue(o: unknown, valid: (v: unknown) => boolean): boolean {
  if (!isPlain(o)) return false;
  const keys = Object.keys(o);
  if (keys.length !== Reflect.ownKeys(o).length) return false;
  const values = o as Record<string, unknown>;
  for (const k of keys) if (k === "__proto__" || !valid(values[k])) return false;
  return true;
}

function isLatency(v: unknown): boolean {
  if (!isPlain(v)) return false;
  const l = v as Record<string, unknown>;
  return isNumber(l.total) && isNumber(l.features) && isNumber(l.infer);
}

function isDegradedList(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const d: unknown = v[i];
    if (!isPlain(d)) return false;
    const item = d as Record<string, unknown>;
    if (typeof item.feature !== "string" || !REASONS.has(item.reason)) return false;
  }
  return true;
}
