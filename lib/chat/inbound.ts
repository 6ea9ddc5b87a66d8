/**
 * The inbound side of one chat socket: every frame the client sends is checked (size, JSON,
 * fields) and paced, then handled in arrival order; one drain at a time stores the queued
 * messages as one ordered batch (`MessageWriter`), and answers each frame in turn.
 *
 * - Pacing: a frame without `id` is shaped (`Shaper`): over `MSG_RATE`/`MSG_BURST` it waits
 *   and is stored as the bucket refills; only past `MSG_QUEUE`/`MSG_QUEUE_BYTES` waiting does the
 *   socket end (every message received before that is stored). A frame with `id` may not wait:
 *   over the rate it gets 30005 with `retry_after_ms` and its id, and the client sends it again.
 * - Refusals follow the seed-client rule (`refusal.ts`): a client that opted in gets 30004,
 *   30007, 30008 or 30011; one that did not learns through the socket's close.
 */
import {
  decodeClientFrame,
  type DecodeResult,
  type V2ControlFrame,
} from "../protocol/client_frame.ts";
import { utf8LengthUpTo } from "../protocol/text.ts";
import {
  invalidMessageFrame,
  notStoredFrame,
  rateLimitedFrame,
  storedFrame,
} from "../protocol/server_frame.ts";
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { type Clock, LocalTimeFormatter } from "../time.ts";
import type { Logger } from "../log.ts";
import type { Limits } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import type { Endpoint, Hub } from "../hub/hub.ts";
import type { Repository, UserRef } from "../storage/repository.ts";
import { MessageWriter, type Submitted, type WriteOutcome } from "./message_writer.ts";
import { quotaRefusal } from "./quota_answer.ts";
import { refusal } from "./refusal.ts";
import { Shaper } from "./shaper.ts";

/** A frame waiting to be handled: an answer, a message to store, or the end of the socket. */
type Pending =
  | { readonly reply: string }
  | { readonly submitted: Submitted; readonly id: string | null; readonly optedIn: boolean }
  | { readonly end: Disconnect };

/** What the inbound side needs from the service. */
export interface InboundContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly maxMessageChars: number;
  readonly maxFrameBytes: number;
  readonly limits: Pick<
    Limits,
    "messageRate" | "messageBurst" | "messageQueue" | "messageQueueBytes"
  >;
  /** Where messages are stored and published (with webhook events); a plain one by default. */
  readonly messages?: MessageWriter;
}

/** Where the inbound side sends its answers and what it asks of the session. */
export interface InboundSink {
  /** An answer to the client, in turn with everything else the socket sends. */
  reply(frame: string): void;
  /** A receipt `{"ack": upTo}` arrived (handled at once: it opens the send window). */
  acknowledged(upTo: number): void;
  /** A v2 control frame (read, typing, recall) arrived on a `chat.v2` socket. */
  control(frame: V2ControlFrame): void;
  /** The frame breaks a rule that ends the socket. */
  terminate(disconnect: Disconnect): void;
  /** Handling failed unexpectedly. */
  fail(event: string, error: unknown): void;
}

/** Checks, paces, stores and answers the frames of one socket. */
export class Inbound {
  readonly #from: UserRef;
  readonly #to: UserRef;
  readonly #connection: number;
  readonly #context: InboundContext;
  readonly #sink: InboundSink;
  readonly #writer: MessageWriter;
  // Made at the first message (issue 14): a bucket made then is as full as one made at the open.
  #shaper: Shaper<Pending> | null = null;
  // `send_time` is formatted once per second, not once per message (made at the first message).
  #sendTimes: LocalTimeFormatter | null = null;
  // Whether the socket negotiated extensions: then every refusal is answered, never a close.
  readonly #socketOptedIn: boolean;
  // The socket itself, so that its own message is not echoed to it as 30013.
  readonly #origin: Endpoint | undefined;
  // Frames waiting to be handled, in arrival order; one drain at a time handles them in batches.
  #queue: Pending[] = [];
  #draining = false;
  // The drain running, while `#draining`.
  #drained: Promise<void> | null = null;
  // A verdict that ends the socket is queued: nothing the client sends later is read.
  #ending = false;

  constructor(
    from: UserRef,
    to: UserRef,
    connection: number,
    context: InboundContext,
    sink: InboundSink,
    socketOptedIn = false,
    origin?: Endpoint,
  ) {
    this.#from = from;
    this.#to = to;
    this.#connection = connection;
    this.#context = context;
    this.#sink = sink;
    this.#socketOptedIn = socketOptedIn;
    this.#origin = origin;
    this.#writer = context.messages ?? new MessageWriter(context);
  }

  /** The socket's message pacing, made when first needed. */
  get #pacer(): Shaper<Pending> {
    if (this.#shaper !== null) return this.#shaper;
    const { messageRate, messageBurst, messageQueue, messageQueueBytes } = this.#context.limits;
    return this.#shaper = new Shaper<Pending>(
      {
        rate: messageRate,
        burst: messageBurst,
        maxWaiting: messageQueue,
        maxWaitingBytes: messageQueueBytes,
      },
      this.#context.clock,
      (item) => this.#enqueue(item),
    );
  }

  /** Handles one frame from the client. */
  received(data: string | ArrayBuffer): void {
    if (this.#ending) return;
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
    const decoded = typeof data === "string"
      ? decodeClientFrame(data, maxMessageChars, this.#socketOptedIn)
      : null;
    // Receipts are handled at once, not queued behind messages: they open the send window.
    if (decoded?.ok && decoded.kind === "ack") {
      this.#sink.acknowledged(decoded.upTo);
      return;
    }
    // v2 control frames (only decoded on a chat.v2 socket) are not messages: not paced here.
    if (decoded?.ok && decoded.kind !== "message") {
      this.#sink.control(decoded);
      return;
    }
    const id = decoded === null ? null : decoded.ok ? decoded.message.id : decoded.id;
    if (id !== null) this.#withId(decoded, id);
    else this.#withoutId(decoded, size);
  }

  /** The socket ended: what was accepted and still waits for the rate is stored now. */
  close(): void {
    this.#ending = true;
    this.#shaper?.flush();
  }

  /** Resolves when every frame received so far has been handled. */
  async settled(): Promise<void> {
    while (this.#draining || (this.#shaper?.waiting ?? 0) > 0) {
      await (this.#draining ? this.#drained : this.#pacer.whenEmpty());
    }
  }

  /** A frame with an `id` may not wait: over the rate it is answered with 30005 and its id. */
  #withId(decoded: DecodeResult | null, id: string): void {
    const retryAfterMs = this.#pacer.tryTake();
    if (retryAfterMs > 0) {
      this.#context.metrics.framesRejected.inc({ reason: "rate_limited" });
      this.#enqueue({ reply: rateLimitedFrame(retryAfterMs, id) });
      return;
    }
    this.#enqueue(this.#pending(decoded, id));
  }

  /** A frame without `id` waits its turn; past the bound the socket ends, all before it stored. */
  #withoutId(decoded: DecodeResult | null, size: number): void {
    const item = this.#pending(decoded, null);
    if ("end" in item) this.#ending = true;
    const verdict = this.#pacer.offer(item, size);
    if (verdict === "full") {
      this.#ending = true;
      this.#context.metrics.framesRejected.inc({ reason: "queue_full" });
      this.#context.log.warn("chat.sending_too_fast", {
        conn: this.#connection,
        user: this.#from.username,
        waiting: this.#pacer.waiting,
      });
      const retryAfterMs = this.#pacer.tryTake();
      this.#pacer.flush();
      // This frame too was received before the close: it is stored with the rest.
      this.#enqueue(item);
      this.#enqueue({ end: DISCONNECT.sendingTooFast(retryAfterMs) });
    } else if (this.#ending) {
      this.#pacer.flush();
    }
  }

  /** The decoded frame as a queued item: a message to store, or its refusal. */
  #pending(decoded: DecodeResult | null, id: string | null): Pending {
    const optedIn = id !== null || this.#socketOptedIn;
    if (decoded !== null && decoded.ok && decoded.kind === "message") {
      return { submitted: this.#submitted(decoded.message.msg, id), id, optedIn };
    }
    const binary = decoded === null;
    const reason = binary
      ? "binary frames are not supported; send JSON text"
      : (decoded as { reason: string }).reason;
    this.#context.metrics.framesRejected.inc({
      reason: binary ? "binary" : (decoded as { code: string }).code,
    });
    return refusal(
      optedIn,
      invalidMessageFrame(reason, id),
      DISCONNECT.invalidMessage(reason, binary),
    );
  }

  #submitted(msg: string, id: string | null): Submitted {
    // `send_time` is when the server received the frame.
    const sentAt = this.#context.clock();
    return {
      message: {
        from: this.#from,
        to: this.#to,
        msg,
        sendTime: (this.#sendTimes ??= new LocalTimeFormatter()).format(sentAt),
        sentAt,
        clientId: id,
      },
      receivedAt: performance.now(),
    };
  }

  #enqueue(item: Pending): void {
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
        if (!(await this.#handle(items))) {
          this.#queue = [];
          return;
        }
      }
    } catch (error) {
      this.#sink.fail("chat.frame_failed", error);
    } finally {
      this.#draining = false;
      this.#drained = null;
    }
  }

  /**
   * Handles the frames that arrived while the previous batch was being stored: their messages
   * are stored together, in order (all or none), then each frame is answered in turn, up to an
   * end of the socket. `false` once the socket was ended.
   */
  async #handle(items: readonly Pending[]): Promise<boolean> {
    const endAt = items.findIndex((item) => "end" in item);
    const handled = endAt === -1 ? items : items.slice(0, endAt);
    const submitted = handled.flatMap((item) => "submitted" in item ? [item.submitted] : []);
    const outcomes = await this.#writer.write(submitted, this.#connection, this.#origin);
    let next = 0;
    for (const item of handled) {
      if ("reply" in item) this.#sink.reply(item.reply);
      else if ("submitted" in item && !this.#answer(item, outcomes[next++])) return false;
    }
    if (endAt === -1) return true;
    this.#sink.terminate((items[endAt] as { end: Disconnect }).end);
    return false;
  }

  /** Answers one message's outcome; `false` when that ended the socket. */
  #answer(item: { id: string | null; optedIn: boolean }, outcome: WriteOutcome): boolean {
    if (outcome.kind === "stored") {
      const { message } = outcome;
      if (item.id !== null) {
        this.#sink.reply(storedFrame(item.id, message.messageId, message.sendTime));
      }
      return true;
    }
    const told = outcome.kind === "refused"
      ? quotaRefusal(item.optedIn, outcome.refusal, item.id)
      : refusal(item.optedIn, notStoredFrame(item.id), DISCONNECT.NOT_STORED);
    if ("reply" in told) {
      this.#sink.reply(told.reply);
      return true;
    }
    this.#ending = true;
    this.#sink.terminate(told.end);
    return false;
  }
}
