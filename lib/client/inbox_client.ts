/**
 * The inbox socket of one user (`/v1/inbox?token=`, `chat.v2` only): it stays open, reconnecting
 * with backoff after a drop, and hands on, as events, each change of my conversations (30021:
 * a message from anyone, one I sent from any device, my read marker moved, a recall) and the
 * presence of the people I talk with (30022). Holding it counts as online, and as one of the
 * user's sockets: over `MAX_CONNECTIONS_PER_USER` it is refused (30006, an `error` event) and
 * tries again with backoff. A failed token (30002) stops it for good. It sends nothing: the list itself comes from `ChatApi.conversations`.
 *
 * ```ts
 * const inbox = new InboxClient({ baseUrl: "http://127.0.0.1:7071", token });
 * inbox.on("conversation", (c) => console.log(`${c.peer}: ${c.unread} unread`));
 * inbox.connect();
 * ```
 */
import { decodeServerFrame } from "../protocol/server_frame.ts";
import type { ConversationUpdate, PresenceChange } from "../protocol/server_frame.ts";
import { CHAT_STATUS } from "../protocol/status.ts";
import { CHAT_SUBPROTOCOL_V2 } from "../protocol/subprotocol.ts";
import {
  type Backoff,
  DEFAULT_BACKOFF,
  ReconnectingSocket,
  type StateEvent,
  type WebSocketFactory,
} from "./reconnecting_socket.ts";
import { inboxSocketUrl } from "./socket_url.ts";
import { SYSTEM_TIMERS, type Timers } from "./timers.ts";

export type { ConversationUpdate, PresenceChange };

/** The events an `InboxClient` emits, by name. */
export interface InboxClientEvents {
  state: StateEvent;
  /** 30021: one of my conversations as it is now. */
  conversation: ConversationUpdate;
  /** 30022: a user I have a conversation with came online or went offline. */
  presence: PresenceChange;
  /** 30002 (the token failed; the client has stopped) or 30006 (too many sockets of mine). */
  error: { readonly status: number; readonly message: string; readonly fatal: boolean };
}

/** Options of an inbox client. */
export interface InboxClientOptions {
  /** The service's origin: `http://host:port` (or `ws://`, `https://`, `wss://`). */
  readonly baseUrl: string;
  readonly token: string;
  readonly backoff?: Partial<Backoff>;
  readonly WebSocket?: WebSocketFactory;
  readonly timers?: Timers;
  readonly random?: () => number;
}

type Listeners = { [K in keyof InboxClientEvents]: Set<(event: InboxClientEvents[K]) => void> };

/** The inbox socket; see the module documentation. */
export class InboxClient {
  readonly #connection: ReconnectingSocket;
  readonly #listeners: Listeners = {
    state: new Set(),
    conversation: new Set(),
    presence: new Set(),
    error: new Set(),
  };

  constructor(options: InboxClientOptions) {
    this.#connection = new ReconnectingSocket({
      url: inboxSocketUrl(options.baseUrl, options.token),
      protocols: [CHAT_SUBPROTOCOL_V2],
      WebSocket: options.WebSocket ?? WebSocket,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      timers: options.timers ?? SYSTEM_TIMERS,
      random: options.random ?? Math.random,
      handlers: {
        opened: () => {},
        frame: (text) => this.#received(text),
        dropped: () => {},
        state: (event) => this.#emit("state", event),
      },
    });
  }

  /** The connection state; `idle` before `connect()`. */
  get state(): StateEvent["state"] | "idle" {
    return this.#connection.state;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof InboxClientEvents>(
    type: K,
    listener: (event: InboxClientEvents[K]) => void,
  ): () => void {
    const listeners = this.#listeners[type] as Set<(event: InboxClientEvents[K]) => void>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Opens the socket; after a drop it reconnects by itself until `close()`. */
  connect(): void {
    this.#connection.connect();
  }

  /** Skips the wait before the next reconnect attempt. */
  reconnectNow(): void {
    this.#connection.reconnectNow();
  }

  /** Stops for good; resolves once the socket has closed. */
  async close(): Promise<void> {
    if (this.state !== "closed") this.#connection.stop(null, () => {});
    await this.#connection.closed;
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #emit<K extends keyof InboxClientEvents>(type: K, event: InboxClientEvents[K]): void {
    for (const listener of [...this.#listeners[type]]) {
      try {
        (listener as (event: InboxClientEvents[K]) => void)(event);
      } catch (error) {
        // A listener's bug must not break the client; report it as the platform would.
        reportError(error);
      }
    }
  }

  #received(text: string): void {
    const frame = decodeServerFrame(text);
    switch (frame?.status) {
      case CHAT_STATUS.CONVERSATION_UPDATED:
        this.#connection.progressed();
        this.#emit("conversation", frame.conversation);
        return;
      case CHAT_STATUS.PRESENCE:
        this.#connection.progressed();
        this.#emit("presence", frame.presence);
        return;
      case CHAT_STATUS.TOO_MANY_CONNECTIONS:
        this.#connection.refused();
        this.#emit("error", { status: frame.status, message: frame.msg, fatal: false });
        return;
      case CHAT_STATUS.TOKEN_FAILED:
        this.#emit("error", { status: frame.status, message: frame.msg, fatal: true });
        this.#connection.stop(null, () => {});
        return;
    }
  }
}
