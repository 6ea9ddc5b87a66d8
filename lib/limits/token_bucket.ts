/** A token bucket: `burst` tokens at most, refilled at `rate` per second. */
import type { Clock } from "../time.ts";

/** Rate limit for one sender; `take()` spends a token or says how long to wait for one. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(rate: number, burst: number, clock: Clock) {
    this.#rate = rate;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#updatedAt = clock();
  }

  /** Spends one token: 0 when allowed, else the milliseconds until a token is available. */
  take(): number {
    const now = this.#clock();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((now - this.#updatedAt) * this.#rate) / 1000,
    );
    this.#updatedAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) * 1000) / this.#rate);
  }
}
