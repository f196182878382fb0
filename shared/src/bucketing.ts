// Sticky bucketing, the cross-language contract: bucket = XXH32(utf8(salt + ":" + unit), seed 0) mod 10000.
// Test vectors in shared/test-vectors/bucketing.json pin it for any other implementation.
import { xxHash32 } from "js-xxhash";

export const BUCKETS = 10_000;

const encoder = new TextEncoder();

/**
 * The bucket in [0, 10000) that a unit falls into under a salt.
 *
 * XXH32 is computed by js-xxhash (pure TypeScript): workerd refuses to compile WebAssembly from
 * bytes at run time, which is how hash-wasm loads, so the reference implementation (hash-wasm)
 * is used by the tests to pin this one to the contract instead.
 */
export function bucketOf(salt: string, unit: string): number {
  return xxHash32(encoder.encode(`${salt}:${unit}`), 0) % BUCKETS;
}

/** Whether a unit is in a shadow's deterministic sample of `rateBp` basis points. */
export function inShadowSample(shadowSalt: string, unit: string, rateBp: number): boolean {
  return bucketOf(shadowSalt, unit) < rateBp;
}

/** XXH32 of the unit alone: what logs carry instead of the unit itself. */
export function unitHash(unit: string): number {
  return xxHash32(encoder.encode(unit), 0);
}
