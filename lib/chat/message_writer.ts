/**
 * The one store-and-publish path: a batch of a sender's messages is stored in one transaction
 * (all or none, in order), then each newly stored message is handed to the hub in that order, so
 * nothing is delivered that is not stored. A socket's inbound side uses it; so can any other way
 * in that must store messages exactly as if they were sent on a socket.
 */
import { errorMessage, type Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Hub } from "../hub/hub.ts";
import type { NewMessage, Repository, StoredMessage } from "../storage/repository.ts";

/** A message to write, and when its frame arrived (`performance.now()`, for the latency metric). */
export interface Submitted {
  readonly message: NewMessage;
  readonly receivedAt: number;
}

/** What became of one submitted message. */
export type WriteOutcome =
  | { readonly kind: "stored"; readonly message: StoredMessage; readonly duplicate: boolean }
  | { readonly kind: "not_stored" };

/** What the writer needs from the service. */
export interface WriterContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly metrics: Metrics;
  readonly log: Logger;
}

const NOT_STORED: WriteOutcome = Object.freeze({ kind: "not_stored" });

/** Stores batches of messages and publishes them. */
export class MessageWriter {
  readonly #context: WriterContext;

  constructor(context: WriterContext) {
    this.#context = context;
  }

  /**
   * Stores `batch` in one transaction and publishes each newly stored message, in order;
   * returns one outcome per message, in the same order. A storage failure is logged and every
   * message of the batch is `not_stored`; a hub failure after storing throws.
   */
  async write(batch: readonly Submitted[], connection = 0): Promise<WriteOutcome[]> {
    if (batch.length === 0) return [];
    const { repository, hub, metrics, log } = this.#context;
    let saved;
    try {
      saved = await repository.saveMessages(batch.map((item) => item.message));
    } catch (error) {
      metrics.storeFailures.inc({}, batch.length);
      log.error("chat.store_failed", {
        conn: connection,
        count: batch.length,
        error: errorMessage(error),
      });
      return batch.map(() => NOT_STORED);
    }
    const outcomes: WriteOutcome[] = [];
    for (let i = 0; i < batch.length; i++) {
      const { message, duplicate } = saved[i];
      const { from, to } = batch[i].message;
      if (!duplicate) {
        metrics.messagesStored.inc();
        metrics.markReceived(message, batch[i].receivedAt);
      }
      // Handed to the hub before the sender hears of it: a message sent after the answer,
      // from any socket on any node, then reaches the peer after this one. A duplicate (a
      // resend of an id stored before) is published again: its first publish may never have
      // happened (the node that stored it died first); a socket that has it drops it by id.
      await hub.publish(message, from.id, to.id);
      outcomes.push({ kind: "stored", message, duplicate });
    }
    return outcomes;
  }
}
