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
 * Receiving uses delivery receipts (`&ack=1`, on unless `receipts: false`): the client sends
 * `{"ack": <message_id>}` (cumulative, batched per turn of the event loop) once it has a message,
 * and the service counts a message as delivered only then. Without receipts the service counts a
 * message as delivered once it has handed it to the network, so a connection that dies with frames
 * in flight loses them, and only the history API could fill the gap; with receipts the service
 * itself sends every unacknowledged message again, in order, on the next socket, and a message seen
 * before (acknowledged or not) is dropped by `message_id`. The history catch-up after a reconnect
 * stays, as a second line, for what receipts cannot cover: the service marks a message delivered
 * when any socket of mine acknowledges it, so a message that my other tab or device received while
 * this socket was down never waits for this one. It reads back only what is newer than the newest
 * message already handed on.
 *
 * Refusals: 30006 (the user holds `MAX_CONNECTIONS_PER_USER` sockets) is an `error` event and the
 * client tries again with backoff, since a slot may free up. A socket refused so, or closed with
 * 1008 or 1013 before it brought anything, does not count as a good connection: the backoff keeps
 * growing instead of starting over at `initialMs`. After 1013 (too slow; the messages stay
 * waiting on the service) the client reconnects with backoff and receives them then. An upgrade
 * refused with an HTTP status (403, 429, 503) is, to a WebSocket, a connection that failed to
 * open, retried with backoff likewise.
 */
import {
  DEFAULT_MAX_MESSAGE_CHARS,
  encodeAckFrame,
  encodeMessageFrame,
} from "../protocol/client_frame.ts";
import type { HistoryMessage } from "../protocol/history_item.ts";
import {
  type ChatMessageView,
  decodeServerFrame,
  type StoredAnswer,
} from "../protocol/server_frame.ts";
import { CHAT_STATUS, CLOSE_CODE } from "../protocol/status.ts";
import { countCodePoints } from "../protocol/text.ts";
import { usernameKey } from "../users/username.ts";
import { ChatApi, type FetchLike, httpOrigin } from "./chat_api.ts";
import {
  SendError,
  SendQueue,
  type StoredMessage,
  SYSTEM_TIMERS,
  type Timers,
} from "./send_queue.ts";

export { SendError, type StoredMessage, type Timers };

/** Where the client is: opening a socket, open, waiting to reconnect, or stopped for good. */
export type ConnectionState = "connecting" | "open" | "retrying" | "closed";

/** A `state` event. */
export interface StateEvent {
  readonly state: ConnectionState;
  /**
   * Reconnect attempts since a socket was last open and admitted (0 on the first try); a socket
   * refused with 30006, or closed with 1008 or 1013 before it brought anything, does not reset it.
   */
  readonly attempt: number;
  /** With `retrying`: milliseconds until the next attempt. */
  readonly retryInMs: number | null;
  /** With `retrying` and `closed`: the close code of the socket that ended, when there was one. */
  readonly closeCode: number | null;
}

/** A message of the pair: a 30001 frame, or one filled in from history after a reconnect. */
export type ChatMessage = ChatMessageView;

/** A `presence` event: the peer is online (30098) or went offline (30099) on this pair. */
export interface PresenceEvent {
  readonly online: boolean;
}

/** An `error` event: an error frame from the service. */
export interface ErrorEvent {
  /**
   * 30002 (token failed), 30003 (no such peer), 30004 (invalid message), 30005 (rate limit: the
   * message is sent again by itself), 30006 (too many sockets of this user: the client tries
   * again with backoff), 30011 (not stored).
   */
  readonly status: number;
  /** The frame's `msg`, e.g. `Target user Tony does not exist`. */
  readonly message: string;
  /** With 30004: the service's reason, e.g. `msg is empty`. */
  readonly reason: string | null;
  /** With 30004, 30005 and 30011: the `id` of the message concerned, when known. */
  readonly id: string | null;
  /** True for 30002 and 30003: the client has stopped and will not reconnect. */
  readonly fatal: boolean;
  /** With 30005: milliseconds until the message is sent again. */
  readonly retryAfterMs: number | null;
  /** With 30006: how many sockets one user may hold (`MAX_CONNECTIONS_PER_USER`). */
  readonly limit: number | null;
}

/** The events a `ChatClient` emits, by name. */
export interface ChatClientEvents {
  state: StateEvent;
  presence: PresenceEvent;
  message: ChatMessage;
  error: ErrorEvent;
}

/** The parts of a WebSocket the client uses; the global `WebSocket` fits. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor; the global `WebSocket` fits. */
export type WebSocketFactory = new (url: string) => WebSocketLike;

/** Reconnect delays: `initialMs * factor^attempt`, at most `maxMs`, then 50-100 % of that. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}

/** The default reconnect delays: 0.5 s, 1 s, 2 s, ... up to 30 s, with jitter. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000, factor: 2 };

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

type Listeners = { [K in keyof ChatClientEvents]: Set<(event: ChatClientEvents[K]) => void> };

const OPEN = 1;
const HISTORY_PAGE = 100;
const CATCH_UP_PAGES = 10;

/** A random client `id`; `crypto.getRandomValues` works also on pages served over plain http. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The chat socket URL of `peer` on the service at `baseUrl`; `receipts` adds `&ack=1`. */
export function chatSocketUrl(
  baseUrl: string,
  peer: string,
  token: string,
  options: { readonly receipts?: boolean } = {},
): string {
  const origin = httpOrigin(baseUrl).replace(/^http(s?):/i, "ws$1:");
  const receipts = options.receipts === true ? "&ack=1" : "";
  return `${origin}/v1/chat/${encodeURIComponent(peer)}?token=${
    encodeURIComponent(token)
  }${receipts}`;
}

/** One conversation over the chat socket; see the module documentation. */
export class ChatClient {
  readonly peer: string;
  readonly #url: string;
  readonly #api: ChatApi;
  readonly #token: string;
  readonly #backoff: Backoff;
  readonly #maxMessageChars: number;
  readonly #receipts: boolean;
  readonly #catchUp: boolean;
  readonly #catchUpTimeoutMs: number;
  readonly #WebSocket: WebSocketFactory;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #queue: SendQueue;
  readonly #listeners: Listeners = {
    state: new Set(),
    presence: new Set(),
    message: new Set(),
    error: new Set(),
  };

  #state: ConnectionState | "idle" = "idle";
  #socket: WebSocketLike | null = null;
  #attempt = 0;
  // #attempt as it was when the current socket opened, restored if that socket proves useless.
  #attemptAtOpen = 0;
  // The current socket was refused (30006), or has brought a message or an answer.
  #refused = false;
  #progressed = false;
  #everOpened = false;
  #retryTimer: unknown = null;
  #peerOnline: boolean | null = null;
  readonly #seen = new Set<number>();
  // The highest message_id received from the service as a message or marked seen: history
  // is complete up to it, so a catch-up pages back no further.
  #caughtUpTo = 0;
  // Receipts on the current socket: the highest message_id it brought, and the highest acked.
  #receivedUpTo = 0;
  #ackedUpTo = 0;
  #ackTimer: unknown = null;
  // While a catch-up runs, live messages wait here so that events stay in message_id order.
  #held: ChatMessage[] | null = null;
  // A note to self comes back to the socket that sent it too, and the service may send that copy
  // before the 30010 that names its message_id. So a message with the text of the frame in flight,
  // and every message after it, waits here for that frame's answer, which tells an echo (dropped)
  // from a message of my other socket (handed on).
  #maybeEchoes: ChatMessage[] | null = null;
  #catchUpAbort: AbortController | null = null;
  #catchUpTask: Promise<void> = Promise.resolve();
  #socketClosed: Promise<void> = Promise.resolve();

  constructor(options: ChatClientOptions) {
    this.peer = options.peer;
    this.#token = options.token;
    this.#receipts = options.receipts ?? true;
    this.#url = chatSocketUrl(options.baseUrl, options.peer, options.token, {
      receipts: this.#receipts,
    });
    this.#api = new ChatApi({ baseUrl: options.baseUrl, fetch: options.fetch });
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#maxMessageChars = options.maxMessageChars ?? DEFAULT_MAX_MESSAGE_CHARS;
    this.#catchUp = options.catchUp ?? true;
    this.#catchUpTimeoutMs = options.catchUpTimeoutMs ?? 10_000;
    this.#WebSocket = options.WebSocket ?? WebSocket;
    this.#timers = options.timers ?? SYSTEM_TIMERS;
    this.#random = options.random ?? Math.random;
    this.#queue = new SendQueue(this.#timers);
  }

  /** The connection state; `idle` before `connect()`. */
  get state(): ConnectionState | "idle" {
    return this.#state;
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
    const listeners = this.#listeners[type] as Set<(event: ChatClientEvents[K]) => void>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Opens the socket; after a drop the client reconnects by itself until `close()`. */
  connect(): void {
    if (this.#state !== "idle") return;
    this.#open();
  }

  /** Skips the wait before the next reconnect attempt (e.g. when the network is back). */
  reconnectNow(): void {
    if (this.#state !== "retrying") return;
    this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  }

  /**
   * Sends `msg`; resolves once the service has stored it (30010). Messages go out one at a time,
   * in the order of the calls; while the socket is down they wait and are sent on reconnect, and
   * after a 30005 the same message is sent again when the service says. Sending an `id` that is
   * still pending returns the same promise.
   */
  send(msg: string, options: { readonly id?: string } = {}): Promise<StoredMessage> {
    if (this.#state === "closed") {
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

  /**
   * Tells the client about messages the program already has (say, from the history API), so
   * that they are not handed on again and a catch-up does not page back past them.
   */
  markSeen(messageIds: Iterable<number>): void {
    for (const id of messageIds) {
      this.#seen.add(id);
      this.#caughtUpTo = Math.max(this.#caughtUpTo, id);
    }
  }

  /**
   * Stops for good: closes the socket, stops reconnecting and rejects unacknowledged sends
   * (a message sent before may still have been stored). Resolves once the socket has closed.
   */
  async close(): Promise<void> {
    if (this.#state !== "closed") {
      this.#stop(null, new SendError("The chat client is closed", null, true));
    }
    await this.#socketClosed;
    await this.#catchUpTask;
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --- internals ---

  #emit<K extends keyof ChatClientEvents>(type: K, event: ChatClientEvents[K]): void {
    for (const listener of [...this.#listeners[type]]) {
      try {
        (listener as (event: ChatClientEvents[K]) => void)(event);
      } catch (error) {
        // A listener's bug must not break the client; report it as the platform would.
        reportError(error);
      }
    }
  }

  #emitError(
    status: number,
    message: string,
    details: Partial<Pick<ErrorEvent, "reason" | "id" | "fatal" | "retryAfterMs" | "limit">>,
  ): void {
    this.#emit("error", {
      status,
      message,
      reason: details.reason ?? null,
      id: details.id ?? null,
      fatal: details.fatal ?? false,
      retryAfterMs: details.retryAfterMs ?? null,
      limit: details.limit ?? null,
    });
  }

  #setState(state: ConnectionState, retryInMs: number | null, closeCode: number | null): void {
    this.#state = state;
    this.#emit("state", { state, attempt: this.#attempt, retryInMs, closeCode });
  }

  #setPresence(online: boolean | null): void {
    const changed = online !== this.#peerOnline;
    this.#peerOnline = online;
    if (changed && online !== null) this.#emit("presence", { online });
  }

  #open(): void {
    this.#retryTimer = null;
    this.#setState("connecting", null, null);
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(this.#url);
    } catch {
      // A URL the platform refuses: treat it as a failed attempt and try again later.
      this.#scheduleRetry(null);
      return;
    }
    this.#socket = socket;
    const closed = Promise.withResolvers<void>();
    this.#socketClosed = closed.promise;
    socket.onopen = () => {
      if (socket === this.#socket) this.#opened(socket);
    };
    socket.onmessage = (event) => {
      if (socket === this.#socket && typeof event.data === "string") this.#received(event.data);
    };
    socket.onclose = (event) => {
      closed.resolve();
      if (socket === this.#socket) this.#dropped(event.code);
    };
    // An error is always followed by a close event, where the client decides what to do.
    socket.onerror = () => {};
  }

  #opened(socket: WebSocketLike): void {
    const reconnect = this.#everOpened;
    this.#everOpened = true;
    this.#attemptAtOpen = this.#attempt;
    this.#attempt = 0;
    this.#refused = false;
    this.#progressed = false;
    this.#resetReceipts();
    this.#setState("open", null, null);
    // The service announces an online peer right away (30098); until then, assume offline.
    this.#setPresence(false);
    if (reconnect && this.#catchUp) this.#startCatchUp();
    this.#queue.attach((id, msg) => {
      if (socket !== this.#socket || socket.readyState !== OPEN) return false;
      socket.send(encodeMessageFrame(msg, id));
      return true;
    });
  }

  #received(data: string): void {
    // null: not a frame of this protocol, or a frame of a newer service; ignore it.
    const frame = decodeServerFrame(data);
    if (frame === null) return;
    switch (frame.status) {
      case CHAT_STATUS.MESSAGE: {
        const { message } = frame;
        this.#progressed = true;
        if (this.#maybeEchoes !== null || message.msg === this.#queue.inFlightText) {
          (this.#maybeEchoes ??= []).push(message);
        } else this.#incoming(message);
        this.#acknowledge(message.messageId);
        return;
      }
      case CHAT_STATUS.STORED:
        this.#progressed = true;
        this.#stored(frame.stored);
        return;
      case CHAT_STATUS.PEER_LOGIN:
        this.#setPresence(true);
        return;
      case CHAT_STATUS.PEER_LOGOUT:
        this.#setPresence(false);
        return;
      case CHAT_STATUS.INVALID_MESSAGE: {
        // A 30004 names no id: it answers the one frame in flight.
        const { reason } = frame;
        const error = new SendError(reason, CHAT_STATUS.INVALID_MESSAGE, false);
        this.#releaseEchoes();
        const id = this.#queue.failed(null, error);
        this.#emitError(frame.status, frame.msg, { reason, id });
        return;
      }
      case CHAT_STATUS.RATE_LIMITED: {
        // The message stays first in line and is answered again: possible echoes wait on.
        const { retryAfterMs } = frame;
        const id = this.#queue.rateLimited(frame.id, retryAfterMs ?? Number.NaN);
        this.#emitError(frame.status, frame.msg, { id, retryAfterMs });
        return;
      }
      case CHAT_STATUS.TOO_MANY_CONNECTIONS:
        // The service closes this socket (1008); the close schedules the next attempt. Nothing
        // more is sent on it: it would be ignored.
        this.#refused = true;
        this.#queue.detach();
        this.#emitError(frame.status, frame.msg, { limit: frame.limit });
        return;
      case CHAT_STATUS.NOT_STORED: {
        this.#releaseEchoes();
        const id = this.#queue.failed(
          frame.id,
          new SendError(frame.msg, CHAT_STATUS.NOT_STORED, true),
        );
        this.#emitError(frame.status, frame.msg, { id });
        return;
      }
      case CHAT_STATUS.TOKEN_FAILED:
      case CHAT_STATUS.TARGET_NOT_FOUND:
        this.#emitError(frame.status, frame.msg, { fatal: true });
        this.#stop(null, new SendError(frame.msg, frame.status, false));
        return;
    }
  }

  #incoming(message: ChatMessage): void {
    if (this.#seen.has(message.messageId)) return;
    this.#seen.add(message.messageId);
    this.#caughtUpTo = Math.max(this.#caughtUpTo, message.messageId);
    if (this.#held !== null) this.#held.push(message);
    else this.#emit("message", message);
  }

  #stored({ id, messageId, sendTime }: StoredAnswer): void {
    // Our own message: never hand it on as a message (a note to self echoes it back).
    this.#seen.add(messageId);
    this.#releaseEchoes();
    this.#queue.stored(id, messageId, sendTime);
  }

  /** The frame in flight was answered (or the client stopped): hand on what waited for that. */
  #releaseEchoes(): void {
    const waiting = this.#maybeEchoes;
    this.#maybeEchoes = null;
    for (const message of waiting ?? []) this.#incoming(message);
  }

  // --- receipts ---

  /**
   * A 30001 came on this socket: acknowledge it. The client has it by now, handed on or (during a
   * catch-up) held to be handed on in order; a message seen before is acknowledged too. Acks are
   * cumulative, so one frame per turn of the event loop covers a burst.
   */
  #acknowledge(messageId: number): void {
    if (!this.#receipts) return;
    this.#receivedUpTo = Math.max(this.#receivedUpTo, messageId);
    if (this.#ackTimer !== null) return;
    this.#ackTimer = this.#timers.setTimeout(() => {
      this.#ackTimer = null;
      const socket = this.#socket;
      if (socket === null || socket.readyState !== OPEN) return;
      if (this.#receivedUpTo <= this.#ackedUpTo) return;
      socket.send(encodeAckFrame(this.#receivedUpTo));
      this.#ackedUpTo = this.#receivedUpTo;
    }, 0);
  }

  #resetReceipts(): void {
    if (this.#ackTimer !== null) this.#timers.clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    this.#receivedUpTo = 0;
    this.#ackedUpTo = 0;
  }

  // --- drops, retries, stop ---

  #dropped(closeCode: number): void {
    this.#socket = null;
    // Possible echoes keep waiting: the frame in flight goes first on the next socket, and the
    // service answers its repeated id with the same message_id.
    this.#queue.detach();
    this.#resetReceipts();
    this.#setPresence(null);
    this.#endCatchUp();
    if (this.#state === "closed") return;
    // Refused, or closed as a policy breach or as too slow before it brought anything: that
    // socket was no good connection, so the backoff goes on growing rather than start over.
    const useless = this.#refused ||
      (!this.#progressed &&
        (closeCode === CLOSE_CODE.POLICY_VIOLATION || closeCode === CLOSE_CODE.TRY_AGAIN_LATER));
    if (this.#state === "open" && useless) this.#attempt = this.#attemptAtOpen;
    this.#scheduleRetry(closeCode);
  }

  #scheduleRetry(closeCode: number | null): void {
    const { initialMs, maxMs, factor } = this.#backoff;
    const ceiling = Math.min(maxMs, initialMs * factor ** this.#attempt);
    const delay = Math.round(ceiling * (0.5 + this.#random() * 0.5));
    this.#attempt++;
    this.#retryTimer = this.#timers.setTimeout(() => this.#open(), delay);
    this.#setState("retrying", delay, closeCode);
  }

  #stop(closeCode: number | null, error: SendError): void {
    this.#state = "closed";
    if (this.#retryTimer !== null) this.#timers.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#releaseEchoes();
    this.#endCatchUp();
    this.#resetReceipts();
    const socket = this.#socket;
    this.#socket = null;
    this.#setPresence(null);
    if (socket !== null) socket.close(1000, "Client closed");
    this.#queue.rejectAll(error);
    this.#setState("closed", null, closeCode);
  }

  // --- catch-up after a reconnect ---

  #startCatchUp(): void {
    const abort = new AbortController();
    this.#catchUpAbort = abort;
    this.#held = [];
    const timer = this.#timers.setTimeout(() => abort.abort(), this.#catchUpTimeoutMs);
    const from = this.#caughtUpTo;
    this.#catchUpTask = this.#missedSince(from, abort.signal)
      .then((missed) => {
        if (this.#catchUpAbort !== abort) return;
        for (const message of missed) this.#incoming(message);
      }, () => {
        // The history API is unreachable or slow: live messages go on without the gap.
      })
      .finally(() => {
        this.#timers.clearTimeout(timer);
        if (this.#catchUpAbort === abort) this.#endCatchUp();
      });
  }

  /** Messages to me after `from`, oldest first, read back from the history API. */
  async #missedSince(from: number, signal: AbortSignal): Promise<ChatMessage[]> {
    const peerKey = usernameKey(this.peer);
    const found: HistoryMessage[] = [];
    let before: number | null = null;
    for (let page = 0; page < CATCH_UP_PAGES; page++) {
      const result = await this.#api.history(this.#token, this.peer, {
        limit: HISTORY_PAGE,
        before,
        signal,
      });
      for (const message of result.messages) {
        if (message.messageId > from) found.push(message);
      }
      const oldest = result.messages.at(-1);
      if (result.nextBefore === null || oldest === undefined || oldest.messageId <= from) break;
      before = result.nextBefore;
    }
    return found
      // Only what the socket would have brought: the peer's messages (all of a note to self).
      .filter((message) => usernameKey(message.fromUser) === peerKey)
      .sort((a, b) => a.messageId - b.messageId)
      .map(({ messageId, fromUser, msg, sendTime }) => ({ messageId, fromUser, msg, sendTime }));
  }

  /** Ends a catch-up, handing on the live messages it held back, in message_id order. */
  #endCatchUp(): void {
    this.#catchUpAbort?.abort();
    this.#catchUpAbort = null;
    const held = this.#held;
    this.#held = null;
    if (held === null) return;
    held.sort((a, b) => a.messageId - b.messageId);
    for (const message of held) this.#emit("message", message);
  }
}
