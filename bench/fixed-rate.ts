// A fixed-rate load generator with sub-millisecond latency: requests start on a schedule (one every
// 1/rate s, whether or not earlier ones have answered, so a slow server cannot slow the arrivals
// down), each timed with hrtime from its scheduled start to its last body byte. autocannon reports
// whole milliseconds, too coarse for a ≤ 1 ms added-latency goal.
import { Pool } from "undici";

export interface FixedRateTarget {
  path: string;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: () => string;
}

export interface FixedRateResult {
  rate: number;
  sent: number;
  failed: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Latencies in ms (to 0.01 ms) of `rate` requests per second for `seconds` against one target. */
export async function fixedRate(origin: string, target: FixedRateTarget, rate: number, seconds: number): Promise<FixedRateResult> {
  const pool = new Pool(origin, { connections: 64, pipelining: 1 });
  const latencies: number[] = [];
  let failed = 0;
  const total = Math.max(1, Math.round(rate * seconds));
  const intervalNs = BigInt(Math.round(1e9 / rate));
  const t0 = process.hrtime.bigint();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + intervalNs * BigInt(i);
    // Wait for the slot: a timer for the coarse part, then yield until it is due.
    for (let now = process.hrtime.bigint(); now < due; now = process.hrtime.bigint()) {
      const ms = Number(due - now) / 1e6;
      await new Promise((r) => (ms > 2 ? setTimeout(r, ms - 1) : setImmediate(r)));
    }
    const body = target.body?.();
    inflight.push(
      pool
        .request({ path: target.path, method: target.method, headers: target.headers, ...(body !== undefined ? { body } : {}) })
        .then(async (res) => {
          await res.body.arrayBuffer();
          if (res.statusCode >= 300) failed++;
          else latencies.push(Number(process.hrtime.bigint() - due) / 1e6);
        })
        .catch(() => void failed++),
    );
  }
  await Promise.all(inflight);
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN) * 100) / 100;
  return { rate, sent: total, failed, p50: q(0.5), p90: q(0.9), p99: q(0.99) };
}
