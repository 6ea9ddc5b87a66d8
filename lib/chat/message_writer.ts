/**
 * The one path by which a message enters the service, from a chat socket (`Inbound`) or the admin
 * API alike: a batch of a sender's messages is stored in one transaction (all or none, in order),
 * each with the webhook events it causes, then each is handed to the hub in that order, so
 * nothing is delivered that is not stored. `message.waiting` is recorded when the receiver holds
 * no socket on the pair (receiver -> sender) as the message is stored: the push trigger.
 */
import { errorMessage, type Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Endpoint, Hub } from "../hub/hub.ts";
import type { ConversationNotifier } from "./conversation_notifier.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type {
  MessageEventType,
  NewMessage,
  QuotaRefusal,
  Repository,
  SaveOutcome,
  StorageQuota,
  StoredMessage,
} from "../storage/repository.ts";
import type { WebhookEventType } from "../webhooks/event_types.ts";

/** A message to write, and when its frame arrived (`performance.now()`, for the latency metric). */
export interface Submitted {
  readonly message: NewMessage;
  readonly receivedAt: number;
}

/** What became of one submitted message. */
export type WriteOutcome =
  | { readonly kind: "stored"; readonly message: StoredMessage; readonly duplicate: boolean }
  | { readonly kind: "not_stored"; readonly error: unknown }
  | { readonly kind: "refused"; readonly refusal: QuotaRefusal };

/** What the writer needs from the service. */
export interface WriterContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** The webhook event types to record; empty or absent when webhooks are off. */
  readonly webhookEvents?: ReadonlySet<WebhookEventType>;
  /** Called after messages with webhook events were stored, to wake the sender. */
  readonly onEventsStored?: () => void;
  /** What one user may store (`QUOTA_*`); absent: no quotas. */
  readonly quota?: StorageQuota;
  /** Tells v2 and inbox sockets of each stored message (30013, 30021); absent: nobody. */
  readonly notifier?: ConversationNotifier;
}

/** Stores batches of messages, with their webhook events, and publishes them. */
export class MessageWriter {
  readonly #context: WriterContext;
  readonly #created: boolean;
  readonly #waiting: boolean;
  /** When the last store failed (`performance.now()`), or null once one succeeded since. */
  #failedAt: number | null = null;

  constructor(context: WriterContext) {
    this.#context = context;
    this.#created = context.webhookEvents?.has("message.created") ?? false;
    this.#waiting = context.webhookEvents?.has("message.waiting") ?? false;
  }

  /**
   * Whether the last attempt to store messages failed within the last `withinMs` and none
   * succeeded since: the database may answer small writes and still refuse messages (a disk that
   * is full save for a few pages), which `/readyz` then reports.
   */
  storeFailedWithin(withinMs: number): boolean {
    return this.#failedAt !== null && performance.now() - this.#failedAt <= withinMs;
  }

  /**
   * Stores `batch` in one transaction and publishes each message, in order; returns one outcome
   * per message, in the same order. A storage failure is logged and every message of the batch
   * is `not_stored`; one over its sender's quota is `refused`, and so is every later one of the
   * batch (resends of stored ids aside); a hub failure after storing throws. `origin` is the
   * socket the batch came from: the sender's other v2 sockets on the pair get 30013, not it.
   */
  async write(
    batch: readonly Submitted[],
    connection = 0,
    origin?: Endpoint,
  ): Promise<WriteOutcome[]> {
    if (batch.length === 0) return [];
    const { repository, hub, metrics, log } = this.#context;
    let saved;
    try {
      const messages = await this.#withEvents(batch.map((item) => item.message));
      const { quota } = this.#context;
      saved = quota === undefined
        ? await repository.saveMessages(messages)
        : await repository.saveMessagesWithin(messages, quota);
      if (messages.some((message) => (message.events?.length ?? 0) > 0)) {
        this.#context.onEventsStored?.();
      }
      this.#failedAt = null;
    } catch (error) {
      // Only an outage of the database (busy, full, unreachable) makes it unready, not one bad write.
      if (error instanceof StorageUnavailableError) this.#failedAt = performance.now();
      metrics.storeFailures.inc({}, batch.length);
      log.error("chat.store_failed", {
        conn: connection,
        count: batch.length,
        error: errorMessage(error),
      });
      return batch.map(() => ({ kind: "not_stored", error }));
    }
    const outcomes: WriteOutcome[] = [];
    for (let i = 0; i < batch.length; i++) {
      const outcome: SaveOutcome = saved[i];
      if ("refused" in outcome) {
        metrics.messagesRefused.inc({ quota: outcome.refused.quota });
        outcomes.push({ kind: "refused", refusal: outcome.refused });
        continue;
      }
      const { message, duplicate } = outcome;
      const { from, to } = batch[i].message;
      if (!duplicate) {
        metrics.messagesStored.inc();
        metrics.markReceived(message, batch[i].receivedAt);
      }
      // Handed to the hub before the sender hears of it: a message sent after the answer,
      // from any socket on any node, then reaches the peer after this one. A duplicate (a
      // resend of an id stored before) is published again: its first publish may never have
      // happened (the node that stored it died first); a socket that has it drops it by id.
      const published = hub.publish(message, from.id, to.id);
      if (published !== undefined) await published;
      if (!duplicate) this.#context.notifier?.messageStored(message, from, to, origin);
      outcomes.push({ kind: "stored", message, duplicate });
    }
    return outcomes;
  }

  /** The messages with the webhook events each causes (none when webhooks are off). */
  async #withEvents(messages: readonly NewMessage[]): Promise<readonly NewMessage[]> {
    if (!this.#created && !this.#waiting) return messages;
    // One presence look-up per pair in the batch (a socket's batch has one pair).
    const receiverOnPair = new Map<string, Promise<boolean>>();
    const onPair = (message: NewMessage) => {
      const key = `${message.to.id}>${message.from.id}`;
      let known = receiverOnPair.get(key);
      if (known === undefined) {
        known = this.#context.hub.isOnPair(message.to.id, message.from.id);
        receiverOnPair.set(key, known);
      }
      return known;
    };
    return await Promise.all(messages.map(async (message) => {
      const events: MessageEventType[] = [];
      if (this.#waiting && !(await onPair(message))) events.push("message.waiting");
      if (this.#created) events.push("message.created");
      return { ...message, events };
    }));
  }
}
