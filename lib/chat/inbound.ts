/**
 * The inbound side of one chat socket: every frame the client sends is checked (size, JSON,
 * fields), counted against the socket's message rate, and queued in arrival order; one drain at
 * a time stores the queued messages as one ordered batch, publishes each to the hub, and answers
 * each frame in turn (30004, 30005, 30010, 30011).
 */
import { decodeClientFrame } from "../protocol/client_frame.ts";
import { utf8LengthUpTo } from "../protocol/text.ts";
import {
  invalidMessageFrame,
  notStoredFrame,
  rateLimitedFrame,
  storedFrame,
} from "../protocol/server_frame.ts";
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { type Clock, formatLocalTime } from "../time.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { Limits } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import { TokenBucket } from "../limits/token_bucket.ts";
import type { Hub } from "../hub/hub.ts";
import type { NewMessage, Repository, SaveResult, UserRef } from "../storage/repository.ts";
import { MessagePath } from "./message_path.ts";

/** A frame waiting to be handled: a message to store, or an answer to send in turn. */
type QueuedFrame =
  | { readonly reply: string }
  | { readonly message: NewMessage; readonly id: string | null; readonly receivedAt: number };

/** What the inbound side needs from the service. */
export interface InboundContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly maxMessageChars: number;
  readonly maxFrameBytes: number;
  readonly limits: Pick<Limits, "messageRate" | "messageBurst">;
  /** Where messages are stored and published; over the repository and hub by default. */
  readonly messages?: MessagePath;
}

/** Where the inbound side sends its answers and what it asks of the session. */
export interface InboundSink {
  /** An answer to the client, in turn with everything else the socket sends. */
  reply(frame: string): void;
  /** A receipt `{"ack": upTo}` arrived (handled at once: it opens the send window). */
  acknowledged(upTo: number): void;
  /** The frame breaks a rule that ends the socket. */
  terminate(disconnect: Disconnect): void;
  /** Handling failed unexpectedly. */
  fail(event: string, error: unknown): void;
}

/** Checks, rate-limits, stores and answers the frames of one socket. */
export class Inbound {
  readonly #from: UserRef;
  readonly #to: UserRef;
  readonly #connection: number;
  readonly #context: InboundContext;
  readonly #sink: InboundSink;
  readonly #bucket: TokenBucket;
  readonly #path: MessagePath;
  // Frames waiting to be handled, in arrival order; one drain at a time handles them in batches.
  #queue: QueuedFrame[] = [];
  #draining = false;
  #drained: Promise<void> = Promise.resolve();

  constructor(
    from: UserRef,
    to: UserRef,
    connection: number,
    context: InboundContext,
    sink: InboundSink,
  ) {
    this.#from = from;
    this.#to = to;
    this.#connection = connection;
    this.#context = context;
    this.#sink = sink;
    this.#path = context.messages ?? new MessagePath(context);
    this.#bucket = new TokenBucket(
      context.limits.messageRate,
      context.limits.messageBurst,
      context.clock,
    );
  }

  /** Handles one frame from the client. */
  received(data: string | ArrayBuffer): void {
    const { metrics, maxFrameBytes, maxMessageChars } = this.#context;
    const size = typeof data === "string" ? utf8LengthUpTo(data, maxFrameBytes) : data.byteLength;
    if (size > maxFrameBytes) {
      metrics.framesRejected.inc({ reason: "too_big" });
      this.#context.log.warn("chat.frame_too_big", {
        conn: this.#connection,
        user: this.#from.username,
      });
      this.#sink.terminate(DISCONNECT.FRAME_TOO_BIG);
      return;
    }
    const decoded = typeof data === "string" ? decodeClientFrame(data, maxMessageChars) : null;
    // Receipts are handled at once, not queued behind messages: they open the send window.
    if (decoded?.ok && decoded.kind === "ack") {
      this.#sink.acknowledged(decoded.upTo);
      return;
    }
    const retryAfterMs = this.#bucket.take();
    if (retryAfterMs > 0) {
      metrics.framesRejected.inc({ reason: "rate_limited" });
      const id = decoded?.ok && decoded.kind === "message" ? decoded.message.id : null;
      this.#enqueue({ reply: rateLimitedFrame(retryAfterMs, id) });
    } else if (decoded === null) {
      metrics.framesRejected.inc({ reason: "binary" });
      this.#enqueue({
        reply: invalidMessageFrame("binary frames are not supported; send JSON text"),
      });
    } else if (!decoded.ok) {
      metrics.framesRejected.inc({ reason: decoded.code });
      this.#enqueue({ reply: invalidMessageFrame(decoded.reason) });
    } else if (decoded.kind === "message") {
      this.#enqueue(this.#newMessage(decoded.message.msg, decoded.message.id));
    }
  }

  /** Resolves when every frame received so far has been handled. */
  async settled(): Promise<void> {
    while (this.#draining) await this.#drained;
  }

  #newMessage(msg: string, id: string | null): QueuedFrame {
    // `send_time` is when the server received the frame.
    const sentAt = this.#context.clock();
    return {
      message: {
        from: this.#from,
        to: this.#to,
        msg,
        sendTime: formatLocalTime(sentAt),
        sentAt,
        clientId: id,
      },
      id,
      receivedAt: performance.now(),
    };
  }

  #enqueue(item: QueuedFrame): void {
    this.#queue.push(item);
    if (this.#draining) return;
    this.#draining = true;
    this.#drained = this.#drain();
  }

  // Runs also after the socket closed: a frame received before the close is still stored.
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const items = this.#queue;
        this.#queue = [];
        await this.#handle(items);
      }
    } catch (error) {
      this.#sink.fail("chat.frame_failed", error);
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Handles the frames that arrived while the previous batch was being stored: their messages
   * are stored together, in order (all or none), then each frame is answered in turn.
   */
  async #handle(items: readonly QueuedFrame[]): Promise<void> {
    const saved = await this.#store(items);
    let next = 0;
    for (const item of items) {
      if ("reply" in item) {
        this.#sink.reply(item.reply);
        continue;
      }
      const result = saved?.[next++];
      if (result === undefined) {
        this.#sink.reply(notStoredFrame(item.id));
        continue;
      }
      const { message, duplicate } = result;
      // Acknowledged once handed to the hub: a message the client sends after this 30010, from
      // any socket on any node, then reaches the peer after this one.
      if (!duplicate) {
        await this.#path.publish(message, this.#from.id, this.#to.id, item.receivedAt);
      }
      if (item.id !== null) {
        this.#sink.reply(storedFrame(item.id, message.messageId, message.sendTime));
      }
    }
  }

  /** Stores the batch's messages in one transaction; `null` when that failed (logged). */
  async #store(items: readonly QueuedFrame[]): Promise<SaveResult[] | null> {
    const messages = items.flatMap((item) => "message" in item ? [item.message] : []);
    if (messages.length === 0) return null;
    try {
      return await this.#path.store(messages);
    } catch (error) {
      this.#context.metrics.storeFailures.inc({}, messages.length);
      this.#context.log.error("chat.store_failed", {
        conn: this.#connection,
        count: messages.length,
        error: errorMessage(error),
      });
      return null;
    }
  }
}
