/**
 * The one path by which a message enters the service, from a chat socket (`Inbound`) or from the
 * admin API alike: stored first, with its webhook events in the same transaction, then handed to
 * the hub. `message.waiting` is recorded when the receiver holds no socket on the pair
 * (receiver -> sender) as the message is stored: the push-notification trigger.
 */
import type { Hub } from "../hub/hub.ts";
import type { Metrics } from "../metrics.ts";
import type {
  MessageEventType,
  NewMessage,
  Repository,
  SaveResult,
  StoredMessage,
} from "../storage/repository.ts";
import type { WebhookEventType } from "../webhooks/event_types.ts";

/** What the path needs. */
export interface MessagePathContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly metrics: Metrics;
  /** The webhook event types to record; empty or absent when webhooks are off. */
  readonly webhookEvents?: ReadonlySet<WebhookEventType>;
  /** Called after messages with webhook events were stored, to wake the sender. */
  readonly onEventsStored?: () => void;
}

/** Stores messages with their webhook events, and publishes them. */
export class MessagePath {
  readonly #context: MessagePathContext;
  readonly #created: boolean;
  readonly #waiting: boolean;

  constructor(context: MessagePathContext) {
    this.#context = context;
    this.#created = context.webhookEvents?.has("message.created") ?? false;
    this.#waiting = context.webhookEvents?.has("message.waiting") ?? false;
  }

  /**
   * Stores messages in the order given, in one transaction (all or none; see
   * `Repository.saveMessages`), each with the webhook events it causes. Throws on failure.
   */
  async store(messages: readonly NewMessage[]): Promise<SaveResult[]> {
    const withEvents = await this.#withEvents(messages);
    const saved = await this.#context.repository.saveMessages(withEvents);
    if (withEvents.some((message) => (message.events?.length ?? 0) > 0)) {
      this.#context.onEventsStored?.();
    }
    return saved;
  }

  /**
   * Counts a newly stored message and offers it to the receiver's sockets, on every node;
   * `receivedAt` (`performance.now()`) times its delivery.
   */
  async publish(
    message: StoredMessage,
    fromUserId: number,
    toUserId: number,
    receivedAt: number,
  ): Promise<void> {
    this.#context.metrics.messagesStored.inc();
    this.#context.metrics.markReceived(message, receivedAt);
    await this.#context.hub.publish(message, fromUserId, toUserId);
  }

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
