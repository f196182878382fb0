// Writes shared/test-vectors/bucketing.json with the reference XXH32 (hash-wasm), independent of
// the implementation the workers use. Run: npx tsx scripts/gen-test-vectors.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { xxhash32 } from "hash-wasm";
import { ROOT } from "./lib/build.ts";

const salts = ["demo:0", "demo:1", "churn:3", "demo:shadow:2", "", "ünïcode:0"];
const units = [
  ...Array.from({ length: 90 }, (_, i) => `user-${i * 7919}`),
  "", " ", "a", "A", "0", "-1", "user@example.com", "session:abc:def", "😀", "👩‍👩‍👧‍👦", "Ωμέγα", "日本語のユーザー",
  "Zürich", "naïve café", "עברית", "العربية", "emoji🎉party", "tab\tinside", "line\nbreak", "x".repeat(256),
  "\u0000nul", "ß", "İstanbul", "क्षत्रिय", "한국어", "🇨🇭", "\u200bzero-width", "mixed Ünïcödé 123",
];

const rows: { salt: string; unit: string; bucket: number }[] = [];
for (const [i, unit] of units.entries()) {
  const salt = salts[i % salts.length]!;
  const hex = await xxhash32(`${salt}:${unit}`, 0);
  rows.push({ salt, unit, bucket: Number.parseInt(hex, 16) % 10_000 });
}
const file = join(ROOT, "shared/test-vectors/bucketing.json");
const lines = rows.map((r) => `    ${JSON.stringify(r)}`).join(",\n");
writeFileSync(file, `{\n  "contract": "bucket = xxhash32(utf8(salt + ':' + unit), seed 0) mod 10000",\n  "rows": [\n${lines}\n  ]\n}\n`);
console.log(`wrote ${rows.length} vectors to ${file}`);
