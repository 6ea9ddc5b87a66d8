/**
 * A chat client for one pair (me -> peer), for programs in Deno and in browsers alike (no DOM):
 * it keeps the socket `/v1/chat/<peer>?token=` open, reconnecting with backoff after a drop;
 * sends each message with a client `id`, one at a time and in order, and resolves when the
 * service answers 30010; waits and resends after a 30005 (rate limit) without letting a later
 * message overtake it; resends what was not acknowledged after a reconnect (the service stores a
 * repeated `id` once); and hands each `message_id` on once, in order.
 *
 * ```ts
 * const chat = new ChatClient({ baseUrl: "http://127.0.0.1:7071", token, peer: "Tom" });
 * chat.on("message", (m) => console.log(`${m.fromUser}: ${m.msg}`));
 * chat.connect();
 * await chat.send("Hello Tom"); // resolves with { id, messageId, sendTime }
 * await chat.close();
 * ```
 *
 * This class routes the service's frames; each concern has a module: the socket and backoff
 * (`reconnecting_socket.ts`), messages awaiting their 30010 (`send_queue.ts`), de-duplication,
 * order and echoes (`message_receiver.ts`), delivery receipts (`&ack=1`, on unless
 * `receipts: false`; `receipts.ts`), the catch-up after a reconnect (`history_catch_up.ts`), the
 * events (`chat_events.ts`).
 *
 * With `v2: true` the socket offers `chat.v2`, for the events `read`, `delivered`, `typing`,
 * `recalled` and `sent` (mine from another socket) and `read()`, `typing()`, `recall()`
 * (`pair_extras.ts`); only to a service that speaks it (a browser fails the handshake otherwise).
 *
 * Refusals: 30006 (the user holds `MAX_CONNECTIONS_PER_USER` sockets) is an `error` event and the
 * client tries again with backoff, since a slot may free up. After 1013 (too slow; the messages
 * stay waiting on the service) the client reconnects with backoff and receives them then. 30002
 * and 30003 stop the client for good.
 */
import { DEFAULT_MAX_MESSAGE_CHARS, encodeMessageFrame } from "../protocol/client_frame.ts";
import { decodeServerFrame, type QuotaFrame, type StoredAnswer } from "../protocol/server_frame.ts";
import { CHAT_STATUS } from "../protocol/status.ts";
import { countCodePoints } from "../protocol/text.ts";
import { CHAT_SUBPROTOCOL_V2 } from "../protocol/subprotocol.ts";
import { ChatApi, type FetchLike } from "./chat_api.ts";
import {
  type ChatClientEvents,
  ChatEvents,
  type ChatMessage,
  type DeliveredEvent,
  type ErrorEvent,
  type PresenceEvent,
  type ReadEvent,
  type RecalledEvent,
  type SentEvent,
  type TypingEvent,
} from "./chat_events.ts";
import { HistoryCatchUp } from "./history_catch_up.ts";
import { MessageReceiver } from "./message_receiver.ts";
import { Receipts } from "./receipts.ts";
import {
  type Backoff,
  type ConnectionState,
  DEFAULT_BACKOFF,
  ReconnectingSocket,
  type StateEvent,
  type WebSocketFactory,
  type WebSocketLike,
} from "./reconnecting_socket.ts";
import { PairExtras } from "./pair_extras.ts";
import { SendError, SendQueue, type StoredMessage } from "./send_queue.ts";
import { chatSocketUrl, newClientId } from "./socket_url.ts";
import { SYSTEM_TIMERS, type Timers } from "./timers.ts";

export {
  type Backoff,
  type ChatClientEvents,
  type ChatMessage,
  chatSocketUrl,
  type ConnectionState,
  DEFAULT_BACKOFF,
  type DeliveredEvent,
  type ErrorEvent,
  newClientId,
  type PresenceEvent,
  type ReadEvent,
  type RecalledEvent,
  SendError,
  type SentEvent,
  type StateEvent,
  type StoredMessage,
  type Timers,
  type TypingEvent,
  type WebSocketFactory,
  type WebSocketLike,
};

/** Options of a chat client. */
export interface ChatClientOptions {
  /** The service's origin: `http://host:port` (or `ws://`, `https://`, `wss://`). */
  readonly baseUrl: string;
  /** The token from login. */
  readonly token: string;
  /** The user to chat with, as typed; the service matches it without regard to case. */
  readonly peer: string;
  readonly backoff?: Partial<Backoff>;
  /** Longest message in characters, checked before sending (the service's MAX_MESSAGE_CHARS). */
  readonly maxMessageChars?: number;
  /** Open the socket in receipt mode (`&ack=1`) and acknowledge each message (default true). */
  readonly receipts?: boolean;
  /** Offer the subprotocol `chat.v2` (default false); only to a service that speaks it. */
  readonly v2?: boolean;
  /** Fill a gap from the history API after each reconnect (default true). */
  readonly catchUp?: boolean;
  /** Longest wait for the history API during a catch-up before giving up on it. */
  readonly catchUpTimeoutMs?: number;
  readonly WebSocket?: WebSocketFactory;
  readonly fetch?: FetchLike;
  readonly timers?: Timers;
  /** A number in [0, 1) for jitter; `Math.random` by default. */
  readonly random?: () => number;
}

/** One conversation over the chat socket; see the module documentation. */
export class ChatClient {
  readonly peer: string;
  readonly #maxMessageChars: number;
  readonly #connection: ReconnectingSocket;
  readonly #queue: SendQueue;
  readonly #receiver: MessageReceiver;
  readonly #receipts: Receipts | null;
  readonly #catchUp: HistoryCatchUp | null;
  readonly #extras: PairExtras;
  readonly #events = new ChatEvents();
  #peerOnline: boolean | null = null;

  constructor(options: ChatClientOptions) {
    this.peer = options.peer;
    const receipts = options.receipts ?? true;
    const timers = options.timers ?? SYSTEM_TIMERS;
    this.#maxMessageChars = options.maxMessageChars ?? DEFAULT_MAX_MESSAGE_CHARS;
    this.#connection = new ReconnectingSocket({
      url: chatSocketUrl(options.baseUrl, options.peer, options.token, { receipts }),
      protocols: options.v2 === true ? [CHAT_SUBPROTOCOL_V2] : undefined,
      WebSocket: options.WebSocket ?? WebSocket,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      timers,
      random: options.random ?? Math.random,
      handlers: {
        opened: (reconnect) => this.#opened(reconnect),
        frame: (text) => this.#received(text),
        dropped: () => this.#dropped(),
        state: (event) => this.#events.emit("state", event),
      },
    });
    this.#queue = new SendQueue(timers);
    this.#receiver = new MessageReceiver((message) => this.#events.emit("message", message));
    this.#extras = new PairExtras({
      send: (frame) => this.#connection.send(frame),
      events: this.#events,
      receiver: this.#receiver,
    });
    this.#receipts = receipts
      ? new Receipts(timers, (frame) => this.#connection.send(frame))
      : null;
    this.#catchUp = (options.catchUp ?? true)
      ? new HistoryCatchUp({
        api: new ChatApi({ baseUrl: options.baseUrl, fetch: options.fetch }),
        token: options.token,
        peer: options.peer,
        receiver: this.#receiver,
        timers,
        timeoutMs: options.catchUpTimeoutMs ?? 10_000,
      })
      : null;
  }

  /** The connection state; `idle` before `connect()`. */
  get state(): ConnectionState | "idle" {
    return this.#connection.state;
  }

  /** Whether the peer is online; null while the socket is not open. */
  get peerOnline(): boolean | null {
    return this.#peerOnline;
  }

  /** How many messages wait for their 30010. */
  get pendingCount(): number {
    return this.#queue.size;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof ChatClientEvents>(
    type: K,
    listener: (event: ChatClientEvents[K]) => void,
  ): () => void {
    return this.#events.on(type, listener);
  }

  /** Opens the socket; after a drop the client reconnects by itself until `close()`. */
  connect(): void {
    this.#connection.connect();
  }

  /** Skips the wait before the next reconnect attempt (e.g. when the network is back). */
  reconnectNow(): void {
    this.#connection.reconnectNow();
  }

  /**
   * Sends `msg`; resolves once the service has stored it (30010). Messages go out one at a time,
   * in the order of the calls; while the socket is down they wait and are sent on reconnect, and
   * after a 30005 the same message is sent again when the service says. Sending an `id` that is
   * still pending returns the same promise.
   */
  send(msg: string, options: { readonly id?: string } = {}): Promise<StoredMessage> {
    if (this.state === "closed") {
      return Promise.reject(new SendError("The chat client is closed", null, true));
    }
    if (msg.trim() === "") return Promise.reject(new SendError("msg is empty", null, false));
    if (countCodePoints(msg) > this.#maxMessageChars) {
      return Promise.reject(
        new SendError(`msg is longer than ${this.#maxMessageChars} characters`, null, false),
      );
    }
    return this.#queue.add(options.id ?? newClientId(), msg);
  }

  /** v2: marks the peer's messages up to `messageId` read (`{"read": N}`; only forward). */
  read(messageId: number): void {
    this.#extras.read(messageId);
  }

  /** v2: says that I am typing or stopped (`{"typing": bool}`), at most every few seconds. */
  typing(typing: boolean): void {
    this.#extras.typing(typing);
  }

  /** v2: recalls my message `messageId`; resolves on the 30015, rejects on a refusal. */
  recall(messageId: number): Promise<void> {
    return this.#extras.recall(messageId);
  }

  /**
   * Tells the client about messages the program already has (say, from the history API), so
   * that they are not handed on again and a catch-up does not page back past them.
   */
  markSeen(messageIds: Iterable<number>): void {
    this.#receiver.markSeen(messageIds);
  }

  /**
   * Stops for good: closes the socket, stops reconnecting and rejects unacknowledged sends
   * (a message sent before may still have been stored). Resolves once the socket has closed.
   */
  async close(): Promise<void> {
    if (this.state !== "closed") {
      this.#stop(null, new SendError("The chat client is closed", null, true));
    }
    await this.#connection.closed;
    await this.#catchUp?.settled;
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --- events ---

  #setPresence(online: boolean | null): void {
    const changed = online !== this.#peerOnline;
    this.#peerOnline = online;
    if (changed && online !== null) this.#events.emit("presence", { online });
  }

  // --- the socket's life ---

  #opened(reconnect: boolean): void {
    this.#receipts?.reset();
    // The service announces an online peer right away (30098); until then, assume offline.
    this.#setPresence(false);
    if (reconnect) this.#catchUp?.start();
    this.#queue.attach((id, msg) => this.#connection.send(encodeMessageFrame(msg, id)));
    this.#extras.opened();
  }

  #dropped(): void {
    // Possible echoes keep waiting: the frame in flight goes first on the next socket, and the
    // service answers its repeated id with the same message_id.
    this.#queue.detach();
    this.#receipts?.reset();
    this.#setPresence(null);
    this.#catchUp?.end();
    this.#extras.dropped(new SendError("The chat socket dropped", null, true));
  }

  #stop(closeCode: number | null, error: SendError): void {
    this.#connection.stop(closeCode, () => {
      this.#receiver.releaseEchoes();
      this.#catchUp?.end();
      this.#receipts?.reset();
      this.#setPresence(null);
      this.#queue.rejectAll(error);
      this.#extras.dropped(error);
    });
  }

  // --- frames from the service ---

  #received(text: string): void {
    // null: not a frame of this protocol, or a frame of a newer service; ignore it.
    const frame = decodeServerFrame(text);
    switch (frame?.status) {
      case CHAT_STATUS.MESSAGE:
        this.#connection.progressed();
        this.#receiver.arrived(frame.message, this.#queue.inFlightText);
        this.#receipts?.acknowledge(frame.message.messageId);
        return;
      case CHAT_STATUS.STORED:
        this.#connection.progressed();
        this.#stored(frame.stored);
        return;
      case CHAT_STATUS.PEER_LOGIN:
        this.#setPresence(true);
        return;
      case CHAT_STATUS.PEER_LOGOUT:
        this.#setPresence(false);
        return;
      case CHAT_STATUS.INVALID_MESSAGE:
        // One that names a read marker or recall refuses that, never my message in flight.
        if (frame.refused !== undefined) {
          const { control, messageId } = frame.refused;
          this.#extras.refused(control, messageId, frame.reason);
        } else this.#rejected(frame.msg, frame.reason);
        return;
      case CHAT_STATUS.RATE_LIMITED:
        this.#rateLimited(frame.msg, frame.id, frame.retryAfterMs);
        return;
      case CHAT_STATUS.TOO_MANY_CONNECTIONS:
        this.#refused(frame.msg, frame.limit);
        return;
      case CHAT_STATUS.NOT_STORED:
        this.#notStored(frame.msg, frame.id);
        return;
      case CHAT_STATUS.DAILY_QUOTA:
      case CHAT_STATUS.WAITING_QUOTA:
        this.#overQuota(frame);
        return;
      case CHAT_STATUS.TOKEN_FAILED:
      case CHAT_STATUS.TARGET_NOT_FOUND:
        this.#events.error(frame.status, frame.msg, { fatal: true });
        this.#stop(null, new SendError(frame.msg, frame.status, false));
        return;
      default:
        if (frame !== null) this.#extras.received(frame);
    }
  }

  /** 30010: my message is stored; never hand it on as a message (a note to self echoes it). */
  #stored({ id, messageId, sendTime }: StoredAnswer): void {
    this.#receiver.stored(messageId);
    this.#queue.stored(id, messageId, sendTime);
  }

  /** 30004: it names no id, so it answers the one frame in flight. */
  #rejected(message: string, reason: string): void {
    const error = new SendError(reason, CHAT_STATUS.INVALID_MESSAGE, false);
    this.#receiver.releaseEchoes();
    const id = this.#queue.failed(null, error);
    this.#events.error(CHAT_STATUS.INVALID_MESSAGE, message, { reason, id });
  }

  /** 30005: the message stays first in line and is answered again: possible echoes wait on. */
  #rateLimited(message: string, frameId: string | null, retryAfterMs: number | null): void {
    const id = this.#queue.rateLimited(frameId, retryAfterMs ?? Number.NaN);
    this.#events.error(CHAT_STATUS.RATE_LIMITED, message, { id, retryAfterMs });
  }

  /**
   * 30006: the service closes this socket (1008) and the close schedules the next attempt.
   * Nothing more is sent on it: it would be ignored.
   */
  #refused(message: string, limit: number | null): void {
    this.#connection.refused();
    this.#queue.detach();
    this.#events.error(CHAT_STATUS.TOO_MANY_CONNECTIONS, message, { limit });
  }

  /**
   * 30007 or 30008: the message was not stored, its sender being over a storage quota; sending
   * it again works after `retryAfterMs` (30007) or once the peer got some messages (30008).
   */
  #overQuota(frame: QuotaFrame): void {
    const { status, msg, id: frameId, limit, retryAfterMs } = frame;
    this.#receiver.releaseEchoes();
    const id = this.#queue.failed(frameId, new SendError(msg, status, true));
    this.#events.error(status, msg, { id, limit, retryAfterMs });
  }

  /** 30011: the message was not stored; sending it again may work. */
  #notStored(message: string, frameId: string | null): void {
    this.#receiver.releaseEchoes();
    const id = this.#queue.failed(frameId, new SendError(message, CHAT_STATUS.NOT_STORED, true));
    this.#events.error(CHAT_STATUS.NOT_STORED, message, { id });
  }
}
