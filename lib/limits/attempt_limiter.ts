/**
 * Counts attempts per key (a client address, a username) in fixed windows, for login and
 * registration limits. Memory is bounded: past `maxKeys` the oldest windows are dropped first.
 */
import type { Clock } from "../time.ts";

interface Window {
  startedAt: number;
  count: number;
}

/** Attempts per key per window. */
export class AttemptLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  // A Map iterates in insertion order, so the first entries are the oldest windows.
  readonly #windows = new Map<string, Window>();

  constructor(limit: number, windowMs: number, clock: Clock, maxKeys = 100_000) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#clock = clock;
    this.#maxKeys = maxKeys;
  }

  /** Milliseconds until `key` may try again; 0 when it may try now. Does not count. */
  retryAfter(key: string): number {
    const window = this.#current(key);
    if (window === undefined || window.count < this.#limit) return 0;
    return Math.max(1, window.startedAt + this.#windowMs - this.#clock());
  }

  /** Counts one attempt by `key`. */
  record(key: string): void {
    const window = this.#current(key);
    if (window !== undefined) {
      window.count++;
      return;
    }
    this.#windows.delete(key);
    if (this.#windows.size >= this.#maxKeys) this.#evictOldest();
    this.#windows.set(key, { startedAt: this.#clock(), count: 1 });
  }

  /** Forgets `key`, e.g. after a successful login. */
  reset(key: string): void {
    this.#windows.delete(key);
  }

  #current(key: string): Window | undefined {
    const window = this.#windows.get(key);
    if (window === undefined || this.#clock() - window.startedAt >= this.#windowMs) {
      return undefined;
    }
    return window;
  }

  #evictOldest(): void {
    const now = this.#clock();
    for (const [key, window] of this.#windows) {
      if (now - window.startedAt >= this.#windowMs || this.#windows.size >= this.#maxKeys) {
        this.#windows.delete(key);
      } else break;
    }
  }
}
