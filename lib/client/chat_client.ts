/**
 * A chat client for one pair (me -> peer), for programs in Deno and in browsers alike (no DOM):
 * it keeps the socket `/v1/chat/<peer>?token=` open, reconnecting with backoff after a drop;
 * sends each message with a client `id` and resolves when the service answers 30010; resends
 * what was not acknowledged after a reconnect (the service stores a repeated `id` once); fills a
 * gap left by a dropped socket from the history API; and hands each `message_id` on once.
 *
 * ```ts
 * const chat = new ChatClient({ baseUrl: "http://127.0.0.1:7071", token, peer: "Tom" });
 * chat.on("message", (m) => console.log(`${m.fromUser}: ${m.msg}`));
 * chat.connect();
 * await chat.send("Hello Tom"); // resolves with { id, messageId, sendTime }
 * await chat.close();
 * ```
 */
import { CHAT_STATUS } from "../protocol/status.ts";
import { countCodePoints } from "../protocol/client_frame.ts";
import { usernameKey } from "../users/username.ts";
import { ChatApi, type FetchLike, type HistoryMessage, httpOrigin } from "./chat_api.ts";

/** Where the client is: opening a socket, open, waiting to reconnect, or stopped for good. */
export type ConnectionState = "connecting" | "open" | "retrying" | "closed";

/** A `state` event. */
export interface StateEvent {
  readonly state: ConnectionState;
  /** Reconnect attempts since the socket was last open (0 on the first try). */
  readonly attempt: number;
  /** With `retrying`: milliseconds until the next attempt. */
  readonly retryInMs: number | null;
  /** With `retrying` and `closed`: the close code of the socket that ended, when there was one. */
  readonly closeCode: number | null;
}

/** A message of the pair: a 30001 frame, or one filled in from history after a reconnect. */
export interface ChatMessage {
  readonly messageId: number;
  readonly fromUser: string;
  readonly msg: string;
  readonly sendTime: string;
}

/** What `send` resolves with: the service's 30010 answer. */
export interface StoredMessage {
  readonly id: string;
  readonly messageId: number;
  readonly sendTime: string;
}

/** A `presence` event: the peer is online (30098) or went offline (30099) on this pair. */
export interface PresenceEvent {
  readonly online: boolean;
}

/** An `error` event: an error frame from the service. */
export interface ErrorEvent {
  /** 30002 (token failed), 30003 (no such peer), 30004 (invalid message), 30011 (not stored). */
  readonly status: number;
  /** The frame's `msg`, e.g. `Target user Tony does not exist`. */
  readonly message: string;
  /** With 30004: the service's reason, e.g. `msg is empty`. */
  readonly reason: string | null;
  /** With 30004 and 30011: the `id` of the message that failed, when known. */
  readonly id: string | null;
  /** True for 30002 and 30003: the client has stopped and will not reconnect. */
  readonly fatal: boolean;
}

/** The events a `ChatClient` emits, by name. */
export interface ChatClientEvents {
  state: StateEvent;
  presence: PresenceEvent;
  message: ChatMessage;
  error: ErrorEvent;
}

/** Why `send` rejected. */
export class SendError extends Error {
  /** The service's status (30002, 30003, 30004, 30011), or null when the client refused itself. */
  readonly status: number | null;
  /** True when sending the same text again may work (30011, or the client was closed). */
  readonly retryable: boolean;

  constructor(message: string, status: number | null, retryable: boolean) {
    super(message);
    this.name = "SendError";
    this.status = status;
    this.retryable = retryable;
  }
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

/** Timer functions; the global ones fit. Tests may pass their own. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

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

interface PendingSend {
  readonly msg: string;
  readonly promise: Promise<StoredMessage>;
  readonly resolve: (stored: StoredMessage) => void;
  readonly reject: (error: SendError) => void;
}

type Listeners = { [K in keyof ChatClientEvents]: Set<(event: ChatClientEvents[K]) => void> };

const OPEN = 1;
const HISTORY_PAGE = 100;
const CATCH_UP_PAGES = 10;

const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A random client `id`; `crypto.getRandomValues` works also on pages served over plain http. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The chat socket URL of `peer` on the service at `baseUrl`. */
export function chatSocketUrl(baseUrl: string, peer: string, token: string): string {
  const origin = httpOrigin(baseUrl).replace(/^http(s?):/i, "ws$1:");
  return `${origin}/v1/chat/${encodeURIComponent(peer)}?token=${encodeURIComponent(token)}`;
}

function readMessage(body: Record<string, unknown>): ChatMessage | null {
  const { message_id: messageId, from_user: fromUser, msg, send_time: sendTime } = body;
  if (typeof messageId !== "number" || typeof fromUser !== "string") return null;
  if (typeof msg !== "string" || typeof sendTime !== "string") return null;
  return { messageId, fromUser, msg, sendTime };
}

/** One conversation over the chat socket; see the module documentation. */
export class ChatClient {
  readonly peer: string;
  readonly #url: string;
  readonly #api: ChatApi;
  readonly #token: string;
  readonly #backoff: Backoff;
  readonly #maxMessageChars: number;
  readonly #catchUp: boolean;
  readonly #catchUpTimeoutMs: number;
  readonly #WebSocket: WebSocketFactory;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #listeners: Listeners = {
    state: new Set(),
    presence: new Set(),
    message: new Set(),
    error: new Set(),
  };

  #state: ConnectionState | "idle" = "idle";
  #socket: WebSocketLike | null = null;
  #attempt = 0;
  #everOpened = false;
  #retryTimer: unknown = null;
  #peerOnline: boolean | null = null;
  // Messages not yet acknowledged, in the order they were sent (a Map keeps insertion order).
  readonly #pending = new Map<string, PendingSend>();
  // Ids sent on the current socket and not yet answered, oldest first: the service answers
  // the frames of one socket in order, so a 30004 (which names no id) belongs to the oldest.
  #inFlight: string[] = [];
  readonly #seen = new Set<number>();
  // The highest message_id received from the service as a message or marked seen: history
  // is complete up to it, so a catch-up pages back no further.
  #caughtUpTo = 0;
  // While a catch-up runs, live messages wait here so that events stay in message_id order.
  #held: ChatMessage[] | null = null;
  #catchUpAbort: AbortController | null = null;
  #catchUpTask: Promise<void> = Promise.resolve();
  #socketClosed: Promise<void> = Promise.resolve();

  constructor(options: ChatClientOptions) {
    this.peer = options.peer;
    this.#token = options.token;
    this.#url = chatSocketUrl(options.baseUrl, options.peer, options.token);
    this.#api = new ChatApi({ baseUrl: options.baseUrl, fetch: options.fetch });
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#maxMessageChars = options.maxMessageChars ?? 4096;
    this.#catchUp = options.catchUp ?? true;
    this.#catchUpTimeoutMs = options.catchUpTimeoutMs ?? 10_000;
    this.#WebSocket = options.WebSocket ?? WebSocket;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
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
    return this.#pending.size;
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
   * Sends `msg`; resolves once the service has stored it (30010). While the socket is down the
   * message waits and is sent on reconnect. Sending an `id` again returns the same promise.
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
    const id = options.id ?? newClientId();
    const existing = this.#pending.get(id);
    if (existing !== undefined) return existing.promise;
    const { promise, resolve, reject } = Promise.withResolvers<StoredMessage>();
    // A send nobody awaits must not crash the program when close() or an error frame rejects
    // it; whoever awaits the promise still sees the rejection.
    promise.catch(() => {});
    this.#pending.set(id, { msg, promise, resolve, reject });
    if (this.#state === "open") this.#transmit(id);
    return promise;
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
      if (socket === this.#socket) this.#opened();
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

  #opened(): void {
    const reconnect = this.#everOpened;
    this.#everOpened = true;
    this.#attempt = 0;
    this.#inFlight = [];
    this.#setState("open", null, null);
    // The service announces an online peer right away (30098); until then, assume offline.
    this.#setPresence(false);
    if (reconnect && this.#catchUp) this.#startCatchUp();
    for (const id of this.#pending.keys()) this.#transmit(id);
  }

  #transmit(id: string): void {
    const pending = this.#pending.get(id);
    const socket = this.#socket;
    if (pending === undefined || socket === null || socket.readyState !== OPEN) return;
    socket.send(JSON.stringify({ msg: pending.msg, id }));
    this.#inFlight.push(id);
  }

  #received(data: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // Not a frame of this protocol.
    }
    if (typeof frame !== "object" || frame === null) return;
    const { status, msg, body: rawBody } = frame as Record<string, unknown>;
    const body = (typeof rawBody === "object" && rawBody !== null ? rawBody : {}) as Record<
      string,
      unknown
    >;
    const message = typeof msg === "string" ? msg : "";
    switch (status) {
      case CHAT_STATUS.MESSAGE: {
        const chatMessage = readMessage(body);
        if (chatMessage !== null) this.#incoming(chatMessage);
        return;
      }
      case CHAT_STATUS.STORED:
        this.#stored(body);
        return;
      case CHAT_STATUS.PEER_LOGIN:
        this.#setPresence(true);
        return;
      case CHAT_STATUS.PEER_LOGOUT:
        this.#setPresence(false);
        return;
      case CHAT_STATUS.INVALID_MESSAGE: {
        const id = this.#inFlight.shift() ?? null;
        const reason = typeof body.reason === "string" ? body.reason : message;
        this.#fail(id, new SendError(reason, CHAT_STATUS.INVALID_MESSAGE, false));
        this.#emit("error", { status, message, reason, id, fatal: false });
        return;
      }
      case CHAT_STATUS.NOT_STORED: {
        const id = typeof body.id === "string" ? body.id : this.#inFlight[0] ?? null;
        this.#answered(id);
        this.#fail(id, new SendError(message, CHAT_STATUS.NOT_STORED, true));
        this.#emit("error", { status, message, reason: null, id, fatal: false });
        return;
      }
      case CHAT_STATUS.TOKEN_FAILED:
      case CHAT_STATUS.TARGET_NOT_FOUND:
        this.#emit("error", { status, message, reason: null, id: null, fatal: true });
        this.#stop(null, new SendError(message, status, false));
        return;
      default:
        return; // A frame of a newer service: ignore it.
    }
  }

  #incoming(message: ChatMessage): void {
    if (this.#seen.has(message.messageId)) return;
    this.#seen.add(message.messageId);
    this.#caughtUpTo = Math.max(this.#caughtUpTo, message.messageId);
    if (this.#held !== null) this.#held.push(message);
    else this.#emit("message", message);
  }

  #stored(body: Record<string, unknown>): void {
    const { id, message_id: messageId, send_time: sendTime } = body;
    if (typeof id !== "string" || typeof messageId !== "number" || typeof sendTime !== "string") {
      return;
    }
    this.#answered(id);
    // Our own message: never hand it on as a message (a note to self echoes it back).
    this.#seen.add(messageId);
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    pending.resolve({ id, messageId, sendTime });
  }

  #answered(id: string | null): void {
    const index = id === null ? -1 : this.#inFlight.indexOf(id);
    if (index >= 0) this.#inFlight.splice(index, 1);
  }

  #fail(id: string | null, error: SendError): void {
    const pending = id === null ? undefined : this.#pending.get(id);
    if (id === null || pending === undefined) return;
    this.#pending.delete(id);
    pending.reject(error);
  }

  #dropped(closeCode: number): void {
    this.#socket = null;
    this.#inFlight = [];
    this.#setPresence(null);
    this.#endCatchUp();
    if (this.#state === "closed") return;
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
    this.#endCatchUp();
    const socket = this.#socket;
    this.#socket = null;
    this.#setPresence(null);
    if (socket !== null) socket.close(1000, "Client closed");
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const send of pending) send.reject(error);
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
