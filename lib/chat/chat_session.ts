/**
 * One chat socket on the pair (user -> peer): admission, presence, waiting messages, the frames
 * the user sends, and flow control towards a slow or non-acknowledging receiver. It sees a
 * `ChatSocket`, never Deno's WebSocket.
 */
import { decodeClientFrame } from "../protocol/client_frame.ts";
import { utf8LengthUpTo } from "../protocol/text.ts";
import {
  chatMessageFrame,
  invalidMessageFrame,
  notStoredFrame,
  peerLoginFrame,
  rateLimitedFrame,
  storedFrame,
} from "../protocol/server_frame.ts";
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { type Clock, formatLocalTime } from "../time.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { Limits } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import { TokenBucket } from "../limits/token_bucket.ts";
import { type Endpoint, type Hub, HubUnavailableError } from "../hub/hub.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type {
  NewMessage,
  Repository,
  SaveResult,
  Session,
  StoredMessage,
  UserRef,
} from "../storage/repository.ts";
import type { ChatSocket, ChatSocketHandlers } from "./socket.ts";
import type { DeliveryMarker } from "./delivery_marker.ts";

/** How many waiting messages are read from storage at a time. */
export const WAITING_PAGE_SIZE = 500;

/** How long sending waiting messages may stall on a full buffer or window before 1013. */
export const STALL_TIMEOUT_MS = 30_000;

// How often a stalled sender looks again, and when a written frame counts as handed over.
const POLL_MS = 10;
// setTimeout's longest delay; a later expiry re-arms the timer.
const MAX_TIMER_MS = 2_147_483_647;

/** A live message held while waiting ones are sent, with its frame encoded once by the hub. */
interface HeldMessage {
  readonly message: StoredMessage;
  readonly frame: string;
}

/** A frame waiting to be handled: a message to store, or an answer to send in turn. */
type InboxItem =
  | { readonly reply: string }
  | { readonly message: NewMessage; readonly id: string | null; readonly receivedAt: number };

/** What a chat session needs from the rest of the service. */
export interface ChatContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly deliveries: DeliveryMarker;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly maxMessageChars: number;
  readonly maxFrameBytes: number;
  readonly limits: Pick<
    Limits,
    "messageRate" | "messageBurst" | "maxBufferedBytes" | "maxUnacked"
  >;
}

/** The verdict on an upgrade request, reached before the socket opens. */
export type Admission =
  | {
    readonly admitted: true;
    readonly session: Session;
    readonly peer: UserRef;
    /** Receipt mode (`ack=1`): a message counts as delivered only once the client acks it. */
    readonly receipts: boolean;
  }
  | { readonly admitted: false; readonly disconnect: Disconnect };

let nextConnectionId = 1;

/** The server side of one chat socket. */
export class ChatSession implements Endpoint, ChatSocketHandlers {
  readonly user: UserRef;
  readonly peer: UserRef;
  readonly tokenHash: string;
  readonly #id = nextConnectionId++;
  readonly #socket: ChatSocket;
  readonly #admission: Admission;
  readonly #context: ChatContext;
  readonly #receipts: boolean;
  readonly #bucket: TokenBucket;
  #closed = false;
  #joined = false;
  // Until the waiting messages are sent, what the hub hands over (live messages, presence
  // frames) is held here, so that the socket sees its own 30098 first, then the waiting
  // messages, then the rest in the order it came.
  #held: (HeldMessage | string)[] | null = [];
  #lastSentId = 0;
  // Ids written to the socket but not yet confirmed: by the client's receipt in receipt mode,
  // else by the socket's buffer draining. Unconfirmed messages stay waiting if the socket dies.
  #unconfirmed: number[] = [];
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  // Frames waiting to be handled, in arrival order; one drain at a time handles them in batches.
  #queue: InboxItem[] = [];
  #draining = false;
  #drained: Promise<void> = Promise.resolve();
  #started: Promise<void> = Promise.resolve();
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #whenClosed = Promise.withResolvers<void>();

  constructor(socket: ChatSocket, admission: Admission, context: ChatContext) {
    this.#socket = socket;
    this.#admission = admission;
    this.#context = context;
    const nobody = { id: 0, username: "" };
    this.user = admission.admitted ? admission.session.user : nobody;
    this.peer = admission.admitted ? admission.peer : nobody;
    this.tokenHash = admission.admitted ? admission.session.tokenHash : "";
    this.#receipts = admission.admitted && admission.receipts;
    this.#bucket = new TokenBucket(
      context.limits.messageRate,
      context.limits.messageBurst,
      context.clock,
    );
  }

  // --- ChatSocketHandlers ---

  opened(): void {
    if (this.#closed) return;
    const admission = this.#admission;
    if (!admission.admitted) {
      const { disconnect } = admission;
      this.#context.log.info("chat.rejected", { conn: this.#id, reason: disconnect.reason });
      this.terminate(disconnect);
      return;
    }
    this.#context.log.info("chat.open", {
      conn: this.#id,
      user: this.user.username,
      peer: this.peer.username,
      receipts: this.#receipts || undefined,
    });
    this.#armExpiry(admission.session.expiresAt);
    this.#started = this.#start().catch((error) => this.#fail("chat.start_failed", error));
  }

  received(data: string | ArrayBuffer): void {
    if (this.#closed || !this.#admission.admitted) return;
    const { metrics, maxFrameBytes, maxMessageChars } = this.#context;
    const size = typeof data === "string" ? utf8LengthUpTo(data, maxFrameBytes) : data.byteLength;
    if (size > maxFrameBytes) {
      metrics.framesRejected.inc({ reason: "too_big" });
      this.#context.log.warn("chat.frame_too_big", { conn: this.#id, user: this.user.username });
      this.terminate(DISCONNECT.FRAME_TOO_BIG);
      return;
    }
    const decoded = typeof data === "string" ? decodeClientFrame(data, maxMessageChars) : null;
    // Receipts are handled at once, not queued behind messages: they open the send window.
    if (decoded?.ok && decoded.kind === "ack") {
      if (this.#receipts) this.#confirmUpTo(decoded.upTo);
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
      const { msg, id } = decoded.message;
      // `send_time` is when the server received the frame.
      const sentAt = this.#context.clock();
      this.#enqueue({
        message: {
          from: this.user,
          to: this.peer,
          msg,
          sendTime: formatLocalTime(sentAt),
          sentAt,
          clientId: id,
        },
        id,
        receivedAt: performance.now(),
      });
    }
  }

  closed(code: number): void {
    // Closed by the client: its close came after every frame queued before it.
    this.#shutDown(code, this.#socket.bufferedAmount === 0);
  }

  // --- Endpoint ---

  send(frame: string): void {
    if (this.#closed) return;
    if (this.#held !== null) {
      this.#held.push(frame);
      return;
    }
    this.#socket.send(frame);
  }

  deliver(message: StoredMessage, frame: string): void {
    if (this.#closed) return;
    if (this.#held !== null) {
      // Bounded: a receiver this far behind is closed; the messages stay waiting.
      if (this.#held.length >= this.#context.limits.maxUnacked + WAITING_PAGE_SIZE) {
        this.#tooSlow("held");
        return;
      }
      this.#held.push({ message, frame });
      return;
    }
    this.#write(message, frame);
  }

  terminate(disconnect: Disconnect): void {
    if (this.#closed) return;
    const { frame, code, reason } = disconnect;
    if (frame !== null) this.#socket.send(frame);
    // Read before closing: a closing socket reports 0 bytes buffered though the frames queued
    // before the close are not yet sent; those must stay waiting.
    const handedOver = this.#socket.bufferedAmount === 0;
    this.#socket.close(code, reason);
    this.#shutDown(code, handedOver);
  }

  /** Resolves once the session has closed. */
  get whenClosed(): Promise<void> {
    return this.#whenClosed.promise;
  }

  /** Resolves when every frame received so far has been handled. */
  async settled(): Promise<void> {
    await this.#started;
    while (this.#draining) await this.#drained;
  }

  // --- internals ---

  async #start(): Promise<void> {
    const { repository, hub } = this.#context;
    this.#joined = true;
    const { peerOnline } = await hub.join(this);
    if (this.#closed) {
      // Closed while joining: the leave in #shutDown may have run before the join landed.
      await hub.leave(this);
      return;
    }
    // A logout between admission and the join found no socket to close: check once more.
    if ((await repository.findSession(this.tokenHash, this.#context.clock())) === null) {
      this.terminate(DISCONNECT.TOKEN_FAILED);
      return;
    }
    if (peerOnline) this.#socket.send(peerLoginFrame(this.peer.username));
    // Deliveries this process has written but not yet marked must not count as waiting.
    await this.#context.deliveries.flush();
    // Waiting messages first, oldest first, a page at a time so memory stays bounded.
    for (;;) {
      const page = await repository.waitingMessages(
        this.user.id,
        this.peer.id,
        this.#lastSentId,
        WAITING_PAGE_SIZE,
      );
      for (const message of page) {
        if (!this.#hasRoom(true) && !(await this.#roomToSend())) return;
        this.#write(message, chatMessageFrame(message));
      }
      if (this.#closed) return;
      if (page.length < WAITING_PAGE_SIZE) break;
    }
    const held = this.#held ?? [];
    this.#held = null;
    for (const item of held) {
      if (typeof item === "string") this.#socket.send(item);
      else this.#write(item.message, item.frame);
    }
  }

  /** Waits until the socket can take another frame; `false` when it closed or stalled. */
  async #roomToSend(): Promise<boolean> {
    const deadline = performance.now() + STALL_TIMEOUT_MS;
    while (!this.#closed && !this.#hasRoom(true)) {
      if (performance.now() >= deadline) {
        this.#tooSlow("stalled");
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return !this.#closed;
  }

  /** Whether another frame fits: within the byte buffer and, in receipt mode, the ack window. */
  #hasRoom(eager: boolean): boolean {
    const { maxBufferedBytes, maxUnacked } = this.#context.limits;
    // Sending waiting messages pauses at half the buffer, well before live traffic would close.
    const bufferLimit = eager ? maxBufferedBytes / 2 : maxBufferedBytes;
    if (this.#socket.bufferedAmount > bufferLimit) return false;
    return !this.#receipts || this.#unconfirmed.length < maxUnacked;
  }

  #write(message: StoredMessage, frame: string): void {
    // Ids grow in send order on a pair: an id not above the last one was sent already.
    if (message.messageId <= this.#lastSentId) return;
    if (!this.#hasRoom(false)) {
      this.#tooSlow(this.#receipts ? "unacknowledged" : "buffer");
      return;
    }
    // An empty buffer means every earlier frame was handed to the network, and this one goes
    // straight out after them: without receipts that counts as delivered at once. Frames queued
    // behind others wait until the buffer drains, so a receiver closed as too slow gets them
    // again on its next socket.
    const idle = this.#socket.bufferedAmount === 0;
    this.#socket.send(frame);
    this.#lastSentId = message.messageId;
    this.#unconfirmed.push(message.messageId);
    this.#context.metrics.observeDelivery(message);
    if (this.#receipts) return;
    if (idle) this.#confirmAll();
    else this.#armDrainCheck();
  }

  // A healthy socket hands its frames to the network by the next turn of the event loop, so
  // the first look comes at once; a backed-up one is looked at again every POLL_MS.
  #armDrainCheck(delayMs = 0): void {
    if (this.#drainTimer !== undefined) return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      if (this.#closed || this.#unconfirmed.length === 0) return;
      if (this.#socket.bufferedAmount === 0) this.#confirmAll();
      else this.#armDrainCheck(POLL_MS);
    }, delayMs);
  }

  #confirmAll(): void {
    if (this.#unconfirmed.length === 0) return;
    this.#context.deliveries.mark(this.#unconfirmed);
    this.#unconfirmed = [];
  }

  /** A receipt: every message up to `upTo` sent on this socket is delivered. */
  #confirmUpTo(upTo: number): void {
    let count = 0;
    while (count < this.#unconfirmed.length && this.#unconfirmed[count] <= upTo) count++;
    if (count === 0) return;
    this.#context.deliveries.mark(this.#unconfirmed.slice(0, count));
    this.#unconfirmed = this.#unconfirmed.slice(count);
  }

  #tooSlow(cause: string): void {
    this.#context.metrics.connectionsRefused.inc({ reason: "slow_receiver" });
    this.#context.log.warn("chat.too_slow", {
      conn: this.#id,
      user: this.user.username,
      cause,
      unconfirmed: this.#unconfirmed.length,
    });
    this.terminate(DISCONNECT.TOO_SLOW);
  }

  #enqueue(item: InboxItem): void {
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
      this.#fail("chat.frame_failed", error);
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Handles the frames that arrived while the previous batch was being stored: their messages
   * are stored together, in order (all or none), then each frame is answered in turn.
   */
  async #handle(items: readonly InboxItem[]): Promise<void> {
    const { repository, hub, metrics, log } = this.#context;
    const messages = items.flatMap((item) => "message" in item ? [item.message] : []);
    let saved: SaveResult[] | null = null;
    if (messages.length > 0) {
      try {
        saved = await repository.saveMessages(messages);
      } catch (error) {
        metrics.storeFailures.inc({}, messages.length);
        log.error("chat.store_failed", {
          conn: this.#id,
          count: messages.length,
          error: errorMessage(error),
        });
      }
    }
    let next = 0;
    for (const item of items) {
      if ("reply" in item) {
        this.send(item.reply);
        continue;
      }
      const result = saved?.[next++];
      if (result === undefined) {
        this.send(notStoredFrame(item.id));
        continue;
      }
      const { message, duplicate } = result;
      // Acknowledged once handed to the hub: a message the client sends after this 30010, from
      // any socket on any node, then reaches the peer after this one.
      if (!duplicate) {
        metrics.messagesStored.inc();
        metrics.markReceived(message, item.receivedAt);
        await hub.publish(message, this.user.id, this.peer.id);
      }
      if (item.id !== null) this.send(storedFrame(item.id, message.messageId, message.sendTime));
    }
  }

  #armExpiry(expiresAt: number): void {
    const delay = expiresAt - this.#context.clock();
    this.#expiryTimer = setTimeout(() => {
      if (delay > MAX_TIMER_MS) this.#armExpiry(expiresAt);
      else this.terminate(DISCONNECT.TOKEN_EXPIRED);
    }, Math.max(0, Math.min(delay, MAX_TIMER_MS)));
  }

  #fail(event: string, error: unknown): void {
    this.#context.log.error(event, { conn: this.#id, error: errorMessage(error) });
    const transient = error instanceof HubUnavailableError ||
      error instanceof StorageUnavailableError;
    this.terminate(transient ? DISCONNECT.TRY_AGAIN_LATER : DISCONNECT.INTERNAL_ERROR);
  }

  #shutDown(code: number, handedOver: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    // One line per admitted connection, whichever side closed it.
    if (this.#admission.admitted) {
      this.#context.log.info("chat.close", {
        conn: this.#id,
        user: this.user.username,
        peer: this.peer.username,
        code,
      });
    }
    // Handed to the network in full: delivered. Otherwise they stay waiting for the next socket.
    if (!this.#receipts && handedOver) this.#confirmAll();
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#drainTimer);
    this.#whenClosed.resolve();
    if (this.#joined) {
      this.#context.hub.leave(this).catch((error) =>
        this.#context.log.error("chat.leave_failed", { conn: this.#id, error: errorMessage(error) })
      );
    }
  }
}
