// Monitoring's pure parts: shard answers and their merge, window metrics, quality, guardrails, drift.
export * from "./rollup.ts";
export * from "./quality.ts";
export * from "./guardrails.ts";
export * from "./metrics.ts";
export * from "./drift-report.ts";
