/**
 * The process-wide bound on memory (`MEMORY_LIMIT`): the runtime gathers a fragmented WebSocket
 * message whole, in its own memory, before the service sees any of it, and offers no limit on
 * the total. So the resident set size is sampled, and above the limit the sockets that can be
 * holding such a message are dropped: every socket the server is closing, and every open one
 * that has not completed a message for `SILENT_MS` (a socket halfway through a huge message is
 * silent to the service). Dropping frees what the runtime held for them; clients that were only
 * idle see their connection end and reconnect, and their messages stay waiting.
 */

/** A socket the guard can drop. */
export interface DroppableSocket {
  /** When the last complete message arrived (or the socket opened), `performance.now()` ms. */
  readonly lastHeardAt: number;
  /** The server sent its close frame and waits for the client's. */
  readonly closing: boolean;
  /** Drops the connection at once; `false` when the runtime cannot. */
  drop(): boolean;
}

/** A socket silent this long may be in the middle of a message. */
export const SILENT_MS = 1000;

/** What the guard needs. */
export interface MemoryGuardOptions {
  /** Bytes of resident memory above which sockets are dropped; 0 turns the guard off. */
  readonly limitBytes: number;
  /** The process's resident set size in bytes. */
  readonly readRss: () => number;
  /** The open sockets. */
  readonly sockets: ReadonlySet<DroppableSocket>;
  /** Told how many sockets were dropped and at what memory. */
  readonly onShed: (dropped: number, rssBytes: number) => void;
  /** How often memory is sampled. */
  readonly intervalMs?: number;
}

/** Drops the sockets that may hold a message being gathered; returns how many. */
export function shedSockets(sockets: Iterable<DroppableSocket>, now: number): number {
  let dropped = 0;
  for (const socket of [...sockets]) {
    if (socket.closing || now - socket.lastHeardAt >= SILENT_MS) {
      if (socket.drop()) dropped++;
    }
  }
  return dropped;
}

/** Samples memory and sheds sockets above the limit. */
export class MemoryGuard {
  readonly #options: MemoryGuardOptions;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MemoryGuardOptions) {
    this.#options = options;
  }

  /** Starts sampling (every 100 ms by default); does nothing when the limit is 0. */
  start(): void {
    if (this.#options.limitBytes === 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.check(), this.#options.intervalMs ?? 100);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One sample: above the limit, sheds sockets. */
  check(): void {
    const rss = this.#options.readRss();
    if (rss <= this.#options.limitBytes) return;
    const dropped = shedSockets(this.#options.sockets, performance.now());
    if (dropped > 0) this.#options.onShed(dropped, rss);
  }
}
