/**
 * A traffic shaper for one socket's messages (after ejabberd's shapers): within the token
 * bucket (`MSG_RATE`, `MSG_BURST`) a message passes at once; over it, it waits in arrival order
 * and is released as the bucket refills, so a client that bursts is slowed down, not refused.
 * What waits is bounded in count and bytes (`MSG_QUEUE`, `MSG_QUEUE_BYTES`): past the bound the
 * caller ends the socket. `flush()` releases everything at once (the socket is ending, so no
 * more can come and what was accepted must be stored).
 */
import type { Clock } from "../time.ts";
import { TokenBucket } from "../limits/token_bucket.ts";

/** The bounds of a shaper. */
export interface ShaperLimits {
  /** Messages per second, sustained. */
  readonly rate: number;
  /** Messages at once before the rate applies. */
  readonly burst: number;
  /** Most messages waiting. */
  readonly maxWaiting: number;
  /** Most bytes waiting. */
  readonly maxWaitingBytes: number;
}

/** What `offer` did with an item. */
export type ShapeVerdict = "released" | "waiting" | "full";

// A timer never fires sooner than this, so a clock that does not move cannot spin the loop.
const MIN_DELAY_MS = 5;

/** Releases items at the bucket's pace, in the order offered. */
export class Shaper<T> {
  readonly #limits: ShaperLimits;
  readonly #bucket: TokenBucket;
  readonly #release: (item: T) => void;
  #waiting: { item: T; bytes: number }[] = [];
  #head = 0;
  #waitingBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  // Made only while someone waits for the queue to empty.
  #emptied: PromiseWithResolvers<void> | null = null;

  /** `release` gets every item, in order: at once when within the rate, else later. */
  constructor(limits: ShaperLimits, clock: Clock, release: (item: T) => void) {
    this.#limits = limits;
    this.#bucket = new TokenBucket(limits.rate, limits.burst, clock);
    this.#release = release;
  }

  /** How many items wait. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /**
   * Offers an item of `bytes` bytes: `released` (handed to `release` now), `waiting` (it will
   * be), or `full` (over the bound: nothing kept; the caller decides).
   */
  offer(item: T, bytes: number): ShapeVerdict {
    if (this.waiting === 0 && this.#bucket.take() === 0) {
      this.#release(item);
      return "released";
    }
    const { maxWaiting, maxWaitingBytes } = this.#limits;
    if (this.waiting >= maxWaiting || this.#waitingBytes + bytes > maxWaitingBytes) return "full";
    this.#waiting.push({ item, bytes });
    this.#waitingBytes += bytes;
    this.#arm();
    return "waiting";
  }

  /**
   * Takes a token for an item that may not wait (the caller answers "try later" instead):
   * 0 when it may go now, else the milliseconds until it could. Waiting items come first.
   */
  tryTake(): number {
    if (this.waiting > 0) return this.#msUntilDrained();
    return this.#bucket.take();
  }

  /** Releases every waiting item now, in order, and stops the timer. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.waiting > 0) this.#releaseNext();
  }

  /** Resolves once nothing waits. */
  async whenEmpty(): Promise<void> {
    while (this.waiting > 0) await (this.#emptied ??= Promise.withResolvers<void>()).promise;
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const wait = this.#bucket.take();
    if (wait === 0) {
      // A token is there now (time passed since the last look): release one, look again.
      this.#releaseNext();
      if (this.waiting > 0) this.#arm();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.waiting > 0) this.#arm();
    }, Math.max(MIN_DELAY_MS, wait));
  }

  #releaseNext(): void {
    const next = this.#waiting[this.#head++];
    this.#waitingBytes -= next.bytes;
    if (this.#head === this.#waiting.length) {
      this.#waiting = [];
      this.#head = 0;
      this.#emptied?.resolve();
      this.#emptied = null;
    }
    this.#release(next.item);
  }

  /** Roughly how long until every waiting item is out, for a "try later" answer. */
  #msUntilDrained(): number {
    return Math.ceil((this.waiting * 1000) / this.#limits.rate);
  }
}
