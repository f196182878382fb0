// Log records are sized in UTF-8 bytes, as Queues count them, and cut down visibly, never dropped.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CUT_MARKER, fitRecord, jsonBytes, utf8Length, utf8Prefix } from "../src/log-size.ts";
import type { LogRecord } from "../src/schemas/log-record.ts";

const encoder = new TextEncoder();
const text = fc.string({ unit: fc.oneof(fc.constantFrom("a", "é", "日", "本", "語", "🙂", "\ud800", "\udc00"), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })), maxLength: 300 });

const base: LogRecord = {
  request_id: "req-1",
  ts: 1_700_000_000_000,
  model: "m",
  version: 2,
  variant: "a",
  shadow: false,
  snapshot_version: 1,
  unit_hash: 7,
  features: {},
  outputs: { probability: 0.5 },
  latency_ms: { total: 1, features: 0, infer: 1 },
  status: "ok",
  degraded: [],
  colo: "t",
};

describe("utf8Length", () => {
  it("equals the length of TextEncoder's bytes for any string, lone surrogates included", () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(utf8Length(s)).toBe(encoder.encode(s).length);
      }),
    );
  });

  it("counts a Japanese character as three bytes, where .length counts one", () => {
    expect("日本語".length).toBe(3);
    expect(utf8Length("日本語")).toBe(9);
  });
});

describe("utf8Prefix", () => {
  it("is a prefix within the budget that never splits a character", () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 400 }), (s, max) => {
        const p = utf8Prefix(s, max);
        expect(s.startsWith(p)).toBe(true);
        expect(utf8Length(p)).toBeLessThanOrEqual(max);
        const last = p.charCodeAt(p.length - 1);
        if (p.length < s.length && last >= 0xd800 && last <= 0xdbff) expect((s.charCodeAt(p.length) & 0xfc00) === 0xdc00).toBe(false);
      }),
    );
  });
});

describe("fitRecord", () => {
  it("leaves a record that fits untouched", () => {
    const r = { ...base, features: { title: "日本語のタイトル" } };
    expect(fitRecord(r, 10_000)).toBe(r);
  });

  it("always fits, keeps the identity and status, and lists what it cut", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.oneof(text, fc.double(), fc.boolean()), { maxKeys: 60 }), fc.integer({ min: 1500, max: 20_000 }), (features, max) => {
        const r = { ...base, features };
        const fitted = fitRecord(r, max);
        expect(jsonBytes(fitted)).toBeLessThanOrEqual(max);
        expect(fitted).toMatchObject({ request_id: r.request_id, version: r.version, variant: r.variant, shadow: r.shadow, status: r.status, latency_ms: r.latency_ms });
        if (fitted === r) return;
        expect(fitted.truncated?.length).toBeGreaterThan(0);
        for (const [name, value] of Object.entries(fitted.features)) {
          if (value === r.features[name]) continue;
          expect(fitted.truncated).toContain(`features.${name}`);
          expect(String(value).endsWith(CUT_MARKER)).toBe(true);
          expect(String(r.features[name]).startsWith(String(value).slice(0, -1))).toBe(true);
        }
      }),
    );
  });

  it("cuts long non-ASCII strings first, then drops features, then outputs, saying so each time", () => {
    const long = "商品タイトル".repeat(200); // 3,600 bytes, 1,200 characters
    const cut = fitRecord({ ...base, features: { title: long, n: 3 } }, 2000);
    expect(cut.truncated).toEqual(["features.title"]);
    expect(utf8Length(String(cut.features.title))).toBeLessThanOrEqual(256 + 3);
    expect(cut.features.n).toBe(3);
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, "あ".repeat(80)]));
    expect(fitRecord({ ...base, features: many }, 1000).truncated).toEqual(["features"]);
    expect(fitRecord({ ...base, outputs: { scores: Array.from({ length: 500 }, (_, i) => i / 7) } }, 1000).truncated).toEqual(["features", "outputs"]);
  });
});
