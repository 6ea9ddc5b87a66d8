/** Hand-fired timers and a matching clock, for tests of the client modules that take `Timers`. */
import assert from "node:assert/strict";
import type { Timers } from "../../lib/client/timers.ts";

/** Timers a test fires by hand, and a clock that moves when they fire or when told. */
export class ManualTimers implements Timers {
  readonly #timers = new Set<{ ms: number; at: number; callback: () => void }>();
  #now = 0;

  /** The clock, in milliseconds. */
  readonly now = (): number => this.#now;

  /** Moves the clock on. */
  advance(ms: number): void {
    this.#now += ms;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { ms, at: this.#now + ms, callback };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as { ms: number; at: number; callback: () => void });
  }

  /** The delays of the timers set and not yet fired or cleared. */
  get pending(): number[] {
    return [...this.#timers].map((timer) => timer.ms);
  }

  /** Fires the one timer that is set, moving the clock to it; fails unless exactly one is set. */
  fire(): number {
    assert.equal(this.#timers.size, 1, `one timer set, not ${this.#timers.size}`);
    const [timer] = this.#timers;
    this.#timers.delete(timer);
    this.#now = Math.max(this.#now, timer.at);
    timer.callback();
    return timer.ms;
  }
}
