/**
 * The chat client's outgoing messages, in the order they were sent, with one frame in flight at a
 * time: the next message goes out only once the service has answered the one before it (30010
 * stored, 30004 rejected, 30005 rate-limited, 30011 not stored). That is what keeps the order
 * when the service rate-limits: a 30005 names one message that was not stored, and since nothing
 * after it was sent yet, nothing can overtake it. After a 30005 the queue pauses for the
 * `retry_after_ms` the service names and sends the same message (same `id`) again.
 *
 * A 30005 also shows the service's pace: the time since the frame before (which the service let
 * through) plus `retry_after_ms` is the interval between two of its tokens, or less when tokens
 * were left over. From the first 30005 on, frames are spaced by the longest such interval seen,
 * so a long queue (say after a reconnect) drains at the service's rate instead of drawing a 30005
 * for every frame. The spacing ends when the queue is empty, and with each new socket (each
 * socket has its own allowance).
 *
 * One frame in flight costs one round trip per message, which a person typing never notices and
 * which is below the service's sustained rate (`MSG_RATE`, 10/s) on any link under 100 ms. A
 * window of several frames would be faster on slow links but cannot keep the order: when the
 * allowance runs out mid-window, a later frame may find a fresh token and be stored before the
 * rejected one is sent again.
 */
import { SYSTEM_TIMERS, type Timers } from "./timers.ts";

export { SYSTEM_TIMERS, type Timers };

/** What `send` resolves with: the service's 30010 answer. */
export interface StoredMessage {
  readonly id: string;
  readonly messageId: number;
  readonly sendTime: string;
}

/** Why `send` rejected. */
export class SendError extends Error {
  /** The service's status (30002-30004, 30007, 30008, 30011), or null when the client refused. */
  readonly status: number | null;
  /** True when sending the same text again may work (30007, 30008, 30011, or closed). */
  readonly retryable: boolean;

  constructor(message: string, status: number | null, retryable: boolean) {
    super(message);
    this.name = "SendError";
    this.status = status;
    this.retryable = retryable;
  }
}

/** Writes one message frame to the open socket; false when the socket cannot take it now. */
export type Transmit = (id: string, msg: string) => boolean;

interface PendingSend {
  readonly msg: string;
  readonly promise: Promise<StoredMessage>;
  readonly resolve: (stored: StoredMessage) => void;
  readonly reject: (error: SendError) => void;
}

// A pause the service asks for is honoured, but a nonsensical one must not stall the queue.
const MAX_PAUSE_MS = 5 * 60_000;
const DEFAULT_PAUSE_MS = 1_000;

/** The messages waiting for their 30010, sent one at a time in order; see the module docs. */
export class SendQueue {
  readonly #timers: Timers;
  // Insertion order is send order.
  readonly #pending = new Map<string, PendingSend>();
  #transmit: Transmit | null = null;
  #inFlight: string | null = null;
  // While set, nothing is sent: a pause after a 30005, or the spacing between frames.
  #gate: unknown = null;
  #spacingMs = 0;
  // When the frame in flight was sent, and when the frame before it was, if the service let
  // that one through (any answer but 30005): the two give the service's pace at a 30005.
  #sentAt = 0;
  #previousTakenAt: number | null = null;
  readonly #now: () => number;

  /** `now` is a clock in milliseconds, for the spacing; tests may pass their own. */
  constructor(timers: Timers = SYSTEM_TIMERS, now: () => number = () => performance.now()) {
    this.#timers = timers;
    this.#now = now;
  }

  /** How many messages wait for their answer. */
  get size(): number {
    return this.#pending.size;
  }

  /** The `id` of the frame sent and not yet answered, if any. */
  get inFlight(): string | null {
    return this.#inFlight;
  }

  /** The text of the frame sent and not yet answered, if any. */
  get inFlightText(): string | null {
    return this.#inFlight === null ? null : this.#pending.get(this.#inFlight)?.msg ?? null;
  }

  /** Whether sending is paused (after a 30005, or spacing frames). */
  get paused(): boolean {
    return this.#gate !== null;
  }

  /** Queues `msg` under `id`; a second call with a pending `id` returns the first promise. */
  add(id: string, msg: string): Promise<StoredMessage> {
    const existing = this.#pending.get(id);
    if (existing !== undefined) return existing.promise;
    const { promise, resolve, reject } = Promise.withResolvers<StoredMessage>();
    // A send nobody awaits must not crash the program when it is rejected; whoever awaits the
    // promise still sees the rejection.
    promise.catch(() => {});
    this.#pending.set(id, { msg, promise, resolve, reject });
    this.#pump();
    return promise;
  }

  /** A socket opened: send from the head of the queue through `transmit`. */
  attach(transmit: Transmit): void {
    this.detach();
    this.#transmit = transmit;
    this.#pump();
  }

  /** The socket is gone: what was in flight is sent again, with its `id`, on the next one. */
  detach(): void {
    this.#transmit = null;
    this.#inFlight = null;
    this.#spacingMs = 0;
    this.#previousTakenAt = null;
    this.#openGate();
  }

  /** 30010: `id` is stored; the next message goes out. */
  stored(id: string, messageId: number, sendTime: string): void {
    if (id === this.#inFlight) this.#answered(true);
    const pending = this.#pending.get(id);
    if (pending !== undefined) {
      this.#pending.delete(id);
      pending.resolve({ id, messageId, sendTime });
    }
    this.#pump();
  }

  /**
   * 30005: the message (`id`, else the one in flight) was not stored. It stays first in line and
   * goes again after `retryAfterMs`; returns its `id`.
   */
  rateLimited(id: string | null, retryAfterMs: number): string | null {
    const target = id ?? this.#inFlight;
    const pause = Number.isFinite(retryAfterMs) && retryAfterMs >= 0
      ? Math.min(Math.max(1, Math.ceil(retryAfterMs)), MAX_PAUSE_MS)
      : DEFAULT_PAUSE_MS;
    let interval = pause;
    if (target !== null && target === this.#inFlight) {
      if (this.#previousTakenAt !== null) interval += this.#sentAt - this.#previousTakenAt;
      this.#answered(false);
    }
    this.#spacingMs = Math.max(this.#spacingMs, Math.min(Math.ceil(interval), MAX_PAUSE_MS));
    this.#closeGate(pause);
    return target;
  }

  /** 30004, 30007, 30008 or 30011: the message (`id`, else the one in flight) failed; its `id`. */
  failed(id: string | null, error: SendError): string | null {
    const target = id ?? this.#inFlight;
    if (target !== null && target === this.#inFlight) this.#answered(true);
    const pending = target === null ? undefined : this.#pending.get(target);
    if (target !== null && pending !== undefined) {
      this.#pending.delete(target);
      pending.reject(error);
    }
    this.#pump();
    return target;
  }

  /** Rejects every waiting message with `error` and stops sending until the next `attach`. */
  rejectAll(error: SendError): void {
    this.detach();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const send of pending) send.reject(error);
  }

  #pump(): void {
    if (this.#transmit === null || this.#inFlight !== null || this.#gate !== null) return;
    const head = this.#pending.entries().next();
    if (head.done) {
      // Drained: the next burst starts with the service's full allowance again.
      this.#spacingMs = 0;
      return;
    }
    const [id, { msg }] = head.value;
    if (!this.#transmit(id, msg)) return;
    this.#inFlight = id;
    this.#sentAt = this.#now();
    if (this.#spacingMs > 0) this.#closeGate(this.#spacingMs);
  }

  /** The frame in flight was answered; `taken`: the service let it through its rate limit. */
  #answered(taken: boolean): void {
    this.#inFlight = null;
    this.#previousTakenAt = taken ? this.#sentAt : null;
  }

  #closeGate(ms: number): void {
    this.#openGate();
    this.#gate = this.#timers.setTimeout(() => {
      this.#gate = null;
      this.#pump();
    }, ms);
  }

  #openGate(): void {
    if (this.#gate === null) return;
    this.#timers.clearTimeout(this.#gate);
    this.#gate = null;
  }
}
