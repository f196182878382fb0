// The guardrail rule, once: a variant breaks a guardrail when, with enough samples, its error rate
// or p99 latency is above the limit. Promotion decisions, the alert sweep and the experiment
// report all judge with this function.

export interface Guardrails {
  max_error_rate: number;
  max_p99_ms: number;
  /** Guardrails are judged only once a variant has this many samples. */
  min_samples: number;
}

export interface GuardrailBreach {
  guardrail: "error_rate" | "p99";
  value: number;
  max: number;
  samples: number;
}

export function guardrailBreaches(g: Guardrails, m: { samples: number; errors: number; p99_ms: number | null }): GuardrailBreach[] {
  if (m.samples < g.min_samples || m.samples === 0) return [];
  const out: GuardrailBreach[] = [];
  const errorRate = m.errors / m.samples;
  if (errorRate > g.max_error_rate) out.push({ guardrail: "error_rate", value: errorRate, max: g.max_error_rate, samples: m.samples });
  if (m.p99_ms !== null && m.p99_ms > g.max_p99_ms) out.push({ guardrail: "p99", value: m.p99_ms, max: g.max_p99_ms, samples: m.samples });
  return out;
}
