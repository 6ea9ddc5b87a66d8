/**
 * Login and registration limits: attempts per client address, and failed logins per username,
 * each counted in fixed windows.
 */
import type { Limits } from "../config.ts";
import type { Clock } from "../time.ts";
import { AttemptLimiter } from "./attempt_limiter.ts";

/** Throttles password guessing and mass registration. */
export class AuthThrottle {
  readonly #byAddress: AttemptLimiter;
  readonly #byUser: AttemptLimiter;

  constructor(
    limits: Pick<Limits, "authWindowMs" | "authMaxPerIp" | "authMaxPerUser">,
    clock: Clock,
  ) {
    this.#byAddress = new AttemptLimiter(limits.authMaxPerIp, limits.authWindowMs, clock);
    this.#byUser = new AttemptLimiter(limits.authMaxPerUser, limits.authWindowMs, clock);
  }

  /**
   * Admits an attempt from `address` (for `userKey`, on login): 0 and the attempt is counted,
   * or the milliseconds to wait and nothing is counted.
   */
  admit(address: string, userKey: string | null): number {
    const wait = Math.max(
      this.#byAddress.retryAfter(address),
      userKey === null ? 0 : this.#byUser.retryAfter(userKey),
    );
    if (wait === 0) this.#byAddress.record(address);
    return wait;
  }

  /** Counts a failed login against the username. */
  failed(userKey: string): void {
    this.#byUser.record(userKey);
  }

  /** Clears a username's failures after a successful login. */
  succeeded(userKey: string): void {
    this.#byUser.reset(userKey);
  }
}
