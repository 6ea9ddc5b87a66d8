/**
 * Collects the ids of messages written to a socket and marks them delivered in as few repository
 * calls as possible: one per microtask turn, and while one call is in flight, everything that
 * arrives meanwhile waits for the next single call, so marks never queue up behind each other.
 * Once a batch is written, `onDelivered` hears each conversation it touched (for 30016).
 */
import type { Repository } from "../storage/repository.ts";
import { errorMessage, type Logger } from "../log.ts";

/** A conversation's direction whose messages were delivered: sender -> receiver. */
export interface DeliveredPair {
  readonly receiverId: number;
  readonly senderId: number;
}

/** Batches delivered-flag updates. */
export class DeliveryMarker {
  readonly #repository: Repository;
  readonly #log: Logger;
  #pending: number[] = [];
  #pendingPairs = new Map<string, DeliveredPair>();
  #scheduled = false;
  #writing: Promise<void> | null = null;
  /** Hears the conversations of each written batch. */
  onDelivered: (pairs: readonly DeliveredPair[]) => void = () => {};

  constructor(repository: Repository, log: Logger) {
    this.#repository = repository;
    this.#log = log;
  }

  /** Queues ids to mark delivered; `pair` names their conversation, when known. */
  mark(messageIds: readonly number[], pair?: DeliveredPair): void {
    if (messageIds.length === 0) return;
    this.#pending.push(...messageIds);
    if (pair !== undefined) this.#pendingPairs.set(`${pair.receiverId}<${pair.senderId}`, pair);
    if (this.#scheduled || this.#writing !== null) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  /** Resolves when every id queued so far has been written (or its failure logged). */
  async flush(): Promise<void> {
    if (this.#writing === null) this.#start();
    while (this.#writing !== null) await this.#writing;
  }

  #start(): void {
    if (this.#writing !== null || this.#pending.length === 0) return;
    this.#writing = this.#writeAll().finally(() => {
      this.#writing = null;
    });
  }

  async #writeAll(): Promise<void> {
    while (this.#pending.length > 0) {
      const ids = this.#pending;
      const pairs = [...this.#pendingPairs.values()];
      this.#pending = [];
      this.#pendingPairs = new Map();
      try {
        await this.#repository.markDelivered(ids);
        if (pairs.length > 0) this.onDelivered(pairs);
      } catch (error) {
        // Not fatal: the messages were sent, and stay waiting to be sent again on reconnect.
        this.#log.error("delivery.mark_failed", { count: ids.length, error: errorMessage(error) });
      }
    }
  }
}
