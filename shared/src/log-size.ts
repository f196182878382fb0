// Log records are sized the way Queues count them: UTF-8 bytes of their JSON. A record too large
// for one message is cut down visibly (its `truncated` list says what went), never dropped, so
// the prediction is still counted.
import type { LogRecord } from "./schemas/log-record.ts";

/** UTF-8 length of a string without encoding it (a lone surrogate counts as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** UTF-8 bytes of a value's JSON. */
export const jsonBytes = (value: unknown): number => utf8Length(JSON.stringify(value));

/** Long string feature values are cut to this many UTF-8 bytes (plus the `…` marker). */
export const CUT_STRING_BYTES = 256;
export const CUT_MARKER = "…";

/** The longest prefix of `s` within `maxBytes` UTF-8 bytes that does not split a character. */
export function utf8Prefix(s: string, maxBytes: number): string {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    i += pair ? 2 : 1;
  }
  return s.slice(0, i);
}

/**
 * The record itself when its JSON fits in `maxBytes`; otherwise a copy cut down step by step until
 * it fits: long string features shortened (`features.<name>`), then all features dropped
 * (`features`), then outputs (`outputs`), then degraded reasons (`degraded`). Identity, version,
 * variant, status and latency always stay, so the prediction is counted whatever was cut.
 */
export function fitRecord(record: LogRecord, maxBytes: number): LogRecord {
  if (jsonBytes(record) <= maxBytes) return record;
  const truncated = [...(record.truncated ?? [])];
  const features: LogRecord["features"] = Object.create(null) as LogRecord["features"];
  for (const [name, value] of Object.entries(record.features)) {
    if (typeof value === "string" && utf8Length(value) > CUT_STRING_BYTES) {
      features[name] = utf8Prefix(value, CUT_STRING_BYTES) + CUT_MARKER;
      truncated.push(`features.${name}`);
    } else features[name] = value;
  }
  let cut: LogRecord = { ...record, features, truncated };
  const steps: (() => LogRecord)[] = [
    () => ({ ...cut, features: {}, truncated: [...truncated.filter((t) => !t.startsWith("features.")), "features"] }),
    () => ({ ...cut, outputs: {}, truncated: [...(cut.truncated ?? []), "outputs"] }),
    () => ({ ...cut, degraded: [], truncated: [...(cut.truncated ?? []), "degraded"] }),
  ];
  for (const step of steps) {
    if (jsonBytes(cut) <= maxBytes) return cut;
    cut = step();
  }
  return cut;
}
