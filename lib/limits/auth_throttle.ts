/**
 * Login and registration limits: attempts per client address, and failed logins per username,
 * each counted in fixed windows. Failed logins from a known device (one that showed a valid
 * device token) count per (username, device) instead, so that failures from everyone else never
 * lock the owner's known devices out, while guessing stays limited on every path.
 */
import type { Limits } from "../config.ts";
import type { Clock } from "../time.ts";
import { AttemptLimiter } from "./attempt_limiter.ts";

/** Throttles password guessing and mass registration. */
export class AuthThrottle {
  readonly #byAddress: AttemptLimiter;
  readonly #byUser: AttemptLimiter;
  readonly #byDevice: AttemptLimiter;

  constructor(
    limits: Pick<Limits, "authWindowMs" | "authMaxPerIp" | "authMaxPerUser">,
    clock: Clock,
  ) {
    this.#byAddress = new AttemptLimiter(limits.authMaxPerIp, limits.authWindowMs, clock);
    this.#byUser = new AttemptLimiter(limits.authMaxPerUser, limits.authWindowMs, clock);
    this.#byDevice = new AttemptLimiter(limits.authMaxPerUser, limits.authWindowMs, clock);
  }

  /**
   * Admits an attempt from `address` (for `userKey`, on login, from the known `device` or
   * `null`): 0 and the attempt is counted, or the milliseconds to wait and nothing is counted.
   */
  admit(address: string, userKey: string | null, device: string | null = null): number {
    const wait = Math.max(
      this.#byAddress.retryAfter(address),
      userKey === null ? 0 : this.#userLimiter(device).retryAfter(userKeyOf(userKey, device)),
    );
    if (wait === 0) this.#byAddress.record(address);
    return wait;
  }

  /** Counts a failed login against the username (or the username on that known device). */
  failed(userKey: string, device: string | null = null): void {
    this.#userLimiter(device).record(userKeyOf(userKey, device));
  }

  /** Clears the failures a successful login was counted under. */
  succeeded(userKey: string, device: string | null = null): void {
    this.#userLimiter(device).reset(userKeyOf(userKey, device));
  }

  #userLimiter(device: string | null): AttemptLimiter {
    return device === null ? this.#byUser : this.#byDevice;
  }
}

function userKeyOf(userKey: string, device: string | null): string {
  return device === null ? userKey : `${userKey}\u0000${device}`;
}
