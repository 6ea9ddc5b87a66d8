/**
 * A fake hub `Endpoint` that records what it is sent, delivered and told to terminate with,
 * and lets a test await each of those events as it happens.
 */
import type { Endpoint } from "../../lib/hub/hub.ts";
import type { StoredMessage, UserRef } from "../../lib/storage/repository.ts";
import type { Disconnect } from "../../lib/protocol/disconnect.ts";
import { DEFAULT_TIMEOUT_MS, withTimeout } from "./wait.ts";

/** A message offered to an endpoint, with the frame it came with. */
export interface Delivery {
  readonly message: StoredMessage;
  readonly frame: string;
}

/** A `terminate` call. */
export interface Termination {
  readonly frame: string | null;
  readonly code: number;
  readonly reason: string;
}

/** Events of one kind, in arrival order, readable in that order by `next()`. */
export class EventLog<T> {
  readonly #items: T[] = [];
  readonly #waiters: Array<(item: T) => void> = [];
  #read = 0;

  constructor(readonly what: string) {}

  /** Every event recorded so far. */
  get all(): readonly T[] {
    return this.#items;
  }

  /** Records an event, handing it to the oldest waiting `next()` if there is one. */
  push(item: T): void {
    this.#items.push(item);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(this.#items[this.#read++]);
  }

  /** The first event not yet read by `next()`, waiting up to `timeoutMs` for it to arrive. */
  next(timeoutMs: number = DEFAULT_TIMEOUT_MS): Promise<T> {
    // Waiters exist only while every recorded event has been read, so order is kept.
    if (this.#read < this.#items.length) return Promise.resolve(this.#items[this.#read++]);
    let waiter!: (item: T) => void;
    const arrival = new Promise<T>((resolve) => {
      waiter = resolve;
      this.#waiters.push(resolve);
    });
    return withTimeout(arrival, this.what, timeoutMs).catch((error) => {
      // A timed-out read must not swallow the event that arrives after it.
      const index = this.#waiters.indexOf(waiter);
      if (index >= 0) this.#waiters.splice(index, 1);
      throw error;
    });
  }
}

/** Options of a fake endpoint. */
export interface FakeEndpointOptions {
  /** Defaults to a fresh random value, so endpoints share a token only when told to. */
  readonly tokenHash?: string;
  /** Whether it negotiated chat.v2 (gets pushed frames); default false. */
  readonly v2?: boolean;
  /** Called on every `terminate`, e.g. to `leave` the hub as a real socket would on close. */
  readonly onTerminate?: (endpoint: FakeEndpoint, termination: Termination) => void;
}

/** An `Endpoint` that records its events. */
export class FakeEndpoint implements Endpoint {
  readonly tokenHash: string;
  readonly v2: boolean;
  /** Control frames passed to `send`. */
  readonly frames: EventLog<string>;
  /** Messages passed to `deliver`. */
  readonly deliveries: EventLog<Delivery>;
  /** Calls of `terminate`. */
  readonly terminations: EventLog<Termination>;
  /**
   * Calls of `catchUp`, each with how many control frames had been sent before it, so a test
   * can tell what came first.
   */
  readonly catchUps: EventLog<number>;
  readonly #onTerminate: FakeEndpointOptions["onTerminate"];

  constructor(readonly user: UserRef, readonly peer: UserRef, options: FakeEndpointOptions = {}) {
    this.tokenHash = options.tokenHash ?? crypto.randomUUID();
    this.v2 = options.v2 ?? false;
    const label = `${user.username} -> ${peer.username}`;
    this.frames = new EventLog(`a frame sent to ${label}`);
    this.deliveries = new EventLog(`a message delivered to ${label}`);
    this.terminations = new EventLog(`a termination of ${label}`);
    this.catchUps = new EventLog(`a catch-up of ${label}`);
    this.#onTerminate = options.onTerminate;
  }

  send(frame: string): void {
    this.frames.push(frame);
  }

  deliver(message: StoredMessage, frame: string): void {
    this.deliveries.push({ message, frame });
  }

  terminate({ frame, code, reason }: Disconnect): void {
    const termination = { frame, code, reason };
    this.terminations.push(termination);
    this.#onTerminate?.(this, termination);
  }

  catchUp(): void {
    this.catchUps.push(this.frames.all.length);
  }

  /** The next control frame sent, waiting for it. */
  nextFrame(timeoutMs?: number): Promise<string> {
    return this.frames.next(timeoutMs);
  }

  /** The next message delivered, waiting for it. */
  nextDelivery(timeoutMs?: number): Promise<Delivery> {
    return this.deliveries.next(timeoutMs);
  }

  /** The next termination, waiting for it. */
  nextTermination(timeoutMs?: number): Promise<Termination> {
    return this.terminations.next(timeoutMs);
  }
}
