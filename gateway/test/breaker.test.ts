import { describe, expect, it, vi } from "vitest";
import { CircuitBreaker } from "../src/inference/breaker.ts";

describe("circuit breaker", () => {
  it("opens after consecutive failures, probes once when half-open, and closes on success", () => {
    vi.useFakeTimers();
    try {
      const b = new CircuitBreaker({ failures: 3, coolDownMs: 1000 });
      b.failure();
      b.success(); // a success resets the count
      b.failure();
      b.failure();
      expect(b.state).toBe("closed");
      b.failure();
      expect(b.state).toBe("open");
      expect(b.allow()).toBe(false);
      vi.advanceTimersByTime(1000);
      expect(b.state).toBe("half-open");
      expect(b.allow()).toBe(true);
      expect(b.allow()).toBe(false); // one probe at a time
      b.failure(); // the probe failed: open again for a full cool-down
      expect(b.state).toBe("open");
      vi.advanceTimersByTime(1000);
      expect(b.allow()).toBe(true);
      b.success();
      expect(b.state).toBe("closed");
      expect(b.allow()).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
