/** How far a load worker's `open` command got: clients ready, and when each step happened. */
import { type Client, Samples } from "./load_client.ts";
import { now } from "./worker_protocol.ts";

/** How far an `open` command got: clients ready, and when each step last happened. */
export class OpenProgress {
  readonly startedAt = now();
  readonly connectMs = new Samples();
  readonly loginMs = new Samples();
  ready = 0;
  readonly #total: number;
  readonly #waitPresence: boolean;
  readonly #counted = new Set<Client>();
  readonly #allReady = Promise.withResolvers<void>();
  #loggedInAt = this.startedAt;
  #openedAt = this.startedAt;
  #readyAt = this.startedAt;

  constructor(total: number, waitPresence: boolean) {
    this.#total = total;
    this.#waitPresence = waitPresence;
    if (total === 0) this.#allReady.resolve();
  }

  /** Resolves once every client is ready. */
  get allReady(): Promise<void> {
    return this.#allReady.promise;
  }

  loggedIn(ms: number): void {
    this.loginMs.push(ms);
    this.#loggedInAt = now();
  }

  opened(ms: number): void {
    this.connectMs.push(ms);
    this.#openedAt = now();
  }

  /** Counts `client` once it is open (and has its 30098, when waited for). */
  markIfReady(client: Client): void {
    if (this.#counted.has(client) || !client.opened) return;
    if (this.#waitPresence && !client.presence) return;
    this.#counted.add(client);
    this.ready++;
    this.#readyAt = now();
    if (this.ready === this.#total) this.#allReady.resolve();
  }

  times(): { startedAt: number; loggedInAt: number; openedAt: number; readyAt: number } {
    return {
      startedAt: this.startedAt,
      loggedInAt: this.#loggedInAt,
      openedAt: this.#openedAt,
      readyAt: this.#readyAt,
    };
  }
}
