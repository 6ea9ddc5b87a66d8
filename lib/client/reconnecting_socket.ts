/**
 * The chat client's connection: one WebSocket at a time to one URL, opened again with backoff
 * after every drop until `stop()`, with a `state` event at each step. It knows no frames: it
 * hands each text frame on and sends text on the open socket.
 *
 * Backoff: attempt `n` waits `initialMs * factor^n`, at most `maxMs`, then 50-100 % of that, and
 * the count starts over once a socket is open and proves good. A socket the service refused
 * (30006), or closed with 1008 or 1013 before it brought anything, does not prove good: the
 * backoff goes on growing instead of starting over at `initialMs`. An upgrade refused with an
 * HTTP status (403, 429, 503) is, to a WebSocket, a connection that failed to open, retried
 * with backoff likewise.
 */
import { CLOSE_CODE } from "../protocol/status.ts";
import type { Timers } from "./timers.ts";

/** Where the client is: opening a socket, open, waiting to reconnect, or stopped for good. */
export type ConnectionState = "connecting" | "open" | "retrying" | "closed";

/** A `state` event. */
export interface StateEvent {
  readonly state: ConnectionState;
  /**
   * Reconnect attempts since a socket was last open and admitted (0 on the first try); a socket
   * refused with 30006, or closed with 1008 or 1013 before it brought anything, does not reset it.
   */
  readonly attempt: number;
  /** With `retrying`: milliseconds until the next attempt. */
  readonly retryInMs: number | null;
  /** With `retrying` and `closed`: the close code of the socket that ended, when there was one. */
  readonly closeCode: number | null;
}

/** The parts of a WebSocket the client uses; the global `WebSocket` fits. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor; the global `WebSocket` fits. */
export type WebSocketFactory = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Reconnect delays: `initialMs * factor^attempt`, at most `maxMs`, then 50-100 % of that. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/** The default reconnect delays: 0.5 s, 1 s, 2 s, ... up to 30 s, with jitter. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, factor: 2 };

/** The wait before reconnect attempt `attempt` (0 for the first); `random` is in [0, 1). */
export function backoffDelay(backoff: Backoff, attempt: number, random: number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** attempt);
  return Math.round(ceiling * (0.5 + random * 0.5));
}

/** What the connection tells its owner. */
export interface ConnectionHandlers {
  /** A socket opened, after its `open` state event; `reconnect` is false for the first one. */
  readonly opened: (reconnect: boolean) => void;
  /** A text frame arrived on the current socket. */
  readonly frame: (text: string) => void;
  /** The current socket ended (or failed to open), before the next attempt is scheduled. */
  readonly dropped: () => void;
  /** The state changed. */
  readonly state: (event: StateEvent) => void;
}

/** What a reconnecting socket needs. */
export interface ReconnectingSocketOptions {
  readonly url: string;
  /**
   * Subprotocols to offer (`["chat.v2"]`); none when absent. A browser fails the handshake when
   * the service answers none of them, so offer only what the service speaks.
   */
  readonly protocols?: readonly string[];
  readonly WebSocket: WebSocketFactory;
  readonly backoff: Backoff;
  readonly timers: Timers;
  /** A number in [0, 1) for jitter. */
  readonly random: () => number;
  readonly handlers: ConnectionHandlers;
}

const OPEN = 1;
const NORMAL_CLOSURE = 1000;

/** One WebSocket at a time, reopened with backoff; see the module documentation. */
export class ReconnectingSocket {
  readonly #options: ReconnectingSocketOptions;
  #state: ConnectionState | "idle" = "idle";
  #socket: WebSocketLike | null = null;
  #attempt = 0;
  // #attempt as it was when the current socket opened, restored if that socket proves useless.
  #attemptAtOpen = 0;
  // The current socket was refused (30006), or has brought a message or an answer.
  #refused = false;
  #progressed = false;
  #everOpened = false;
  #retryTimer: unknown = null;
  #socketClosed: Promise<void> = Promise.resolve();

  constructor(options: ReconnectingSocketOptions) {
    this.#options = options;
  }

  /** The connection state; `idle` before `connect()`. */
  get state(): ConnectionState | "idle" {
    return this.#state;
  }

  /** Resolves once the last socket opened has closed. */
  get closed(): Promise<void> {
    return this.#socketClosed;
  }

  /** Opens the first socket; does nothing unless `idle`. */
  connect(): void {
    if (this.#state !== "idle") return;
    this.#open();
  }

  /** Skips the wait before the next attempt; does nothing unless `retrying`. */
  reconnectNow(): void {
    if (this.#state !== "retrying") return;
    this.#options.timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  }

  /** Sends `text` on the current socket; false when there is none open. */
  send(text: string): boolean {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) return false;
    socket.send(text);
    return true;
  }

  /** The service refused the current socket (30006): it does not count as a good connection. */
  refused(): void {
    this.#refused = true;
  }

  /** The current socket brought a message or an answer: it counts as a good connection. */
  progressed(): void {
    this.#progressed = true;
  }

  /**
   * Stops for good: no more attempts, and the socket is closed. `cleanUp` runs once the state is
   * `closed` and before the `closed` state event, so that its listeners see the end state.
   */
  stop(closeCode: number | null, cleanUp: () => void): void {
    this.#state = "closed";
    if (this.#retryTimer !== null) this.#options.timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(NORMAL_CLOSURE, "Client closed");
    cleanUp();
    this.#setState("closed", null, closeCode);
  }

  #setState(state: ConnectionState, retryInMs: number | null, closeCode: number | null): void {
    this.#state = state;
    this.#options.handlers.state({ state, attempt: this.#attempt, retryInMs, closeCode });
  }

  #open(): void {
    this.#retryTimer = null;
    this.#setState("connecting", null, null);
    let socket: WebSocketLike;
    try {
      const { url, protocols } = this.#options;
      socket = protocols === undefined
        ? new this.#options.WebSocket(url)
        : new this.#options.WebSocket(url, [...protocols]);
    } catch {
      // A URL the platform refuses: treat it as a failed attempt and try again later.
      this.#scheduleRetry(null);
      return;
    }
    this.#socket = socket;
    const closed = Promise.withResolvers<void>();
    this.#socketClosed = closed.promise;
    socket.onopen = () => {
      if (socket === this.#socket) this.#opened();
    };
    socket.onmessage = (event) => {
      if (socket === this.#socket && typeof event.data === "string") {
        this.#options.handlers.frame(event.data);
      }
    };
    socket.onclose = (event) => {
      closed.resolve();
      if (socket === this.#socket) this.#dropped(event.code);
    };
    // An error is always followed by a close event, where the connection decides what to do.
    socket.onerror = () => {};
  }

  #opened(): void {
    const reconnect = this.#everOpened;
    this.#everOpened = true;
    this.#attemptAtOpen = this.#attempt;
    this.#attempt = 0;
    this.#refused = false;
    this.#progressed = false;
    this.#setState("open", null, null);
    this.#options.handlers.opened(reconnect);
  }

  #dropped(closeCode: number): void {
    this.#socket = null;
    this.#options.handlers.dropped();
    // A listener may have stopped the client meanwhile.
    if (this.#state === "closed") return;
    // Refused, or closed as a policy breach or as too slow before it brought anything: that
    // socket was no good connection, so the backoff goes on growing rather than start over.
    const useless = this.#refused ||
      (!this.#progressed &&
        (closeCode === CLOSE_CODE.POLICY_VIOLATION || closeCode === CLOSE_CODE.TRY_AGAIN_LATER));
    if (this.#state === "open" && useless) this.#attempt = this.#attemptAtOpen;
    this.#scheduleRetry(closeCode);
  }

  #scheduleRetry(closeCode: number | null): void {
    const delay = backoffDelay(this.#options.backoff, this.#attempt, this.#options.random());
    this.#attempt++;
    this.#retryTimer = this.#options.timers.setTimeout(() => this.#open(), delay);
    this.#setState("retrying", delay, closeCode);
  }
}
