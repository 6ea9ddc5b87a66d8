/**
 * The events a chat client emits, `state`, `presence`, `message` and `error`, on a `chat.v2`
 * socket also `read`, `delivered`, `typing`, `recalled` and `sent`, and their listeners: each listener is called in the order it was added, and one that throws is reported
 * as the platform reports an uncaught error, without breaking the client or the other listeners.
 */
import type { ChatMessageView, SentElsewhere } from "../protocol/server_frame.ts";
import type { StateEvent } from "./reconnecting_socket.ts";

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
   * again with backoff), 30007 and 30008 (over a storage quota: not stored), 30011 (not stored).
   */
  readonly status: number;
  /** The frame's `msg`, e.g. `Target user Tony does not exist`. */
  readonly message: string;
  /** With 30004: the service's reason, e.g. `msg is empty`. */
  readonly reason: string | null;
  /** With 30004, 30005, 30007, 30008 and 30011: the `id` of the message concerned, when known. */
  readonly id: string | null;
  /** True for 30002 and 30003: the client has stopped and will not reconnect. */
  readonly fatal: boolean;
  /** With 30005: ms until the message is sent again; with 30007: until the quota's next day. */
  readonly retryAfterMs: number | null;
  /** With 30006: sockets one user may hold (`MAX_CONNECTIONS_PER_USER`); 30007, 30008: the quota. */
  readonly limit: number | null;
}

/** A `read` event (30012): the peer read my messages up to `messageId`. */
export interface ReadEvent {
  readonly reader: string;
  readonly messageId: number;
}

/** A `delivered` event (30016): my messages up to `messageId` reached a socket of the peer. */
export interface DeliveredEvent {
  readonly messageId: number;
}

/** A `typing` event (30014): the peer started or stopped typing. */
export interface TypingEvent {
  readonly fromUser: string;
  readonly typing: boolean;
}

/** A `recalled` event (30015): `fromUser` (the peer or I) recalled a message; its text is gone. */
export interface RecalledEvent {
  readonly messageId: number;
  readonly fromUser: string;
}

/** A `sent` event (30013): a message I sent to the peer from another socket of mine. */
export type SentEvent = SentElsewhere;

/** The events a `ChatClient` emits, by name; the last five only on a `chat.v2` socket. */
export interface ChatClientEvents {
  state: StateEvent;
  presence: PresenceEvent;
  message: ChatMessage;
  error: ErrorEvent;
  read: ReadEvent;
  delivered: DeliveredEvent;
  typing: TypingEvent;
  recalled: RecalledEvent;
  sent: SentEvent;
}

/** The details of an `error` event besides its status and message; the rest are null. */
export type ErrorDetails = Partial<
  Pick<ErrorEvent, "reason" | "id" | "fatal" | "retryAfterMs" | "limit">
>;

type Listener<K extends keyof ChatClientEvents> = (event: ChatClientEvents[K]) => void;
type Listeners = { [K in keyof ChatClientEvents]: Set<Listener<K>> };

/** The listeners of one chat client; see the module documentation. */
export class ChatEvents {
  readonly #listeners: Listeners = {
    state: new Set(),
    presence: new Set(),
    message: new Set(),
    error: new Set(),
    read: new Set(),
    delivered: new Set(),
    typing: new Set(),
    recalled: new Set(),
    sent: new Set(),
  };

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof ChatClientEvents>(type: K, listener: Listener<K>): () => void {
    const listeners = this.#listeners[type] as Set<Listener<K>>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Calls every listener of `type` with `event`. */
  emit<K extends keyof ChatClientEvents>(type: K, event: ChatClientEvents[K]): void {
    for (const listener of [...this.#listeners[type]]) {
      try {
        (listener as Listener<K>)(event);
      } catch (error) {
        // A listener's bug must not break the client; report it as the platform would.
        reportError(error);
      }
    }
  }

  /** Emits an `error` event for a frame with `status` and `msg` (`message`). */
  error(status: number, message: string, details: ErrorDetails): void {
    this.emit("error", {
      status,
      message,
      reason: details.reason ?? null,
      id: details.id ?? null,
      fatal: details.fatal ?? false,
      retryAfterMs: details.retryAfterMs ?? null,
      limit: details.limit ?? null,
    });
  }
}
