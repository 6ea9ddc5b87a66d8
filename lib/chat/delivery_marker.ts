/**
 * Collects the ids of messages written to a socket and marks them delivered in one repository
 * call per microtask turn, so a fan-out to many sockets costs one write.
 */
import type { Repository } from "../storage/repository.ts";
import { errorMessage, type Logger } from "../log.ts";

/** Batches delivered-flag updates. */
export class DeliveryMarker {
  readonly #repository: Repository;
  readonly #log: Logger;
  #pending: number[] = [];
  #inFlight: Promise<void> = Promise.resolve();

  constructor(repository: Repository, log: Logger) {
    this.#repository = repository;
    this.#log = log;
  }

  /** Queues ids to mark delivered. */
  mark(messageIds: readonly number[]): void {
    if (messageIds.length === 0) return;
    if (this.#pending.length === 0) queueMicrotask(() => this.#write());
    this.#pending.push(...messageIds);
  }

  /** Resolves when every queued id has been written (or its failure logged). */
  async flush(): Promise<void> {
    if (this.#pending.length > 0) this.#write();
    await this.#inFlight;
  }

  #write(): void {
    const ids = this.#pending;
    if (ids.length === 0) return;
    this.#pending = [];
    this.#inFlight = this.#inFlight.then(() =>
      this.#repository.markDelivered(ids).catch((error) => {
        // Not fatal: the messages were sent, and stay waiting to be sent again on reconnect.
        this.#log.error("delivery.mark_failed", { count: ids.length, error: errorMessage(error) });
      })
    );
  }
}
