// Per-model redaction of logged features (personal data): each listed feature is dropped, or
// replaced by a salted sha256 so equal values still compare equal without being readable.
import { sha256Hex } from "./crypto.ts";
import type { LogRecord } from "./schemas/log-record.ts";
import type { Redaction } from "./schemas/logging.ts";

export interface RedactionPolicy {
  redact: readonly Redaction[];
  salt: string;
}

/** Hashed values read `sha256:` and the first 32 hex digits of sha256(salt ":" feature ":" value). */
export async function hashFeature(salt: string, feature: string, value: unknown): Promise<string> {
  return `sha256:${(await sha256Hex(`${salt}:${feature}:${JSON.stringify(value)}`)).slice(0, 32)}`;
}

/**
 * The record with the policy applied to its features, listing what was redacted in `redacted`.
 * Features a record already lists as redacted are left as they are, so applying it twice (at the
 * gateway, then at the consumer for a gateway with an older snapshot) changes nothing.
 */
export async function redactRecord(record: LogRecord, policy: RedactionPolicy | undefined): Promise<LogRecord> {
  if (!policy || policy.redact.length === 0) return record;
  const done = new Set(record.redacted ?? []);
  const todo = policy.redact.filter((r) => !done.has(r.feature));
  if (todo.length === 0) return record;
  const features = { ...record.features };
  for (const r of todo) {
    if (!(r.feature in features)) continue;
    if (r.mode === "drop") delete features[r.feature];
    else features[r.feature] = await hashFeature(policy.salt, r.feature, features[r.feature]);
  }
  return { ...record, features, redacted: [...done, ...todo.map((r) => r.feature)] };
}
