// A circuit breaker per origin node per isolate: it opens after consecutive failures, then lets one
// probe through after a cool-down (half-open); a success closes it.
export interface BreakerOptions {
  failures?: number;
  coolDownMs?: number;
}

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt: number | undefined;
  private probing = false;

  constructor(private readonly options: Required<BreakerOptions>) {}

  get state(): "closed" | "open" | "half-open" {
    if (this.openedAt === undefined) return "closed";
    return Date.now() - this.openedAt >= this.options.coolDownMs ? "half-open" : "open";
  }

  /** Whether `allow()` would let a call through now, without claiming the half-open probe. */
  get available(): boolean {
    const state = this.state;
    return state === "closed" || (state === "half-open" && !this.probing);
  }

  /** Whether a call may go out now; in half-open state only one probe at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.consecutive = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  failure(): void {
    this.probing = false;
    this.consecutive++;
    if (this.openedAt !== undefined || this.consecutive >= this.options.failures) this.openedAt = Date.now();
  }
}
