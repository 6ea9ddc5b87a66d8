/**
 * One chat socket on the pair (user -> peer): admission, presence, waiting messages, and the
 * frames the user sends. It sees a `ChatSocket`, never Deno's WebSocket.
 */
import { decodeClientFrame } from "../protocol/client_frame.ts";
import {
  chatMessageFrame,
  invalidMessageFrame,
  notStoredFrame,
  peerLoginFrame,
  storedFrame,
  TOKEN_FAILED_FRAME,
} from "../protocol/frames.ts";
import { CLOSE_CODE } from "../protocol/status.ts";
import { type Clock, formatLocalTime } from "../time.ts";
import { errorMessage, type Logger } from "../log.ts";
import { type Endpoint, type Hub, HubUnavailableError } from "../hub/hub.ts";
import type { Repository, Session, StoredMessage, UserRef } from "../storage/repository.ts";
import type { ChatSocket, ChatSocketHandlers } from "./socket.ts";
import type { DeliveryMarker } from "./delivery_marker.ts";

/** How many waiting messages are read from storage at a time. */
export const WAITING_PAGE_SIZE = 500;

// setTimeout's longest delay; a later expiry re-arms the timer.
const MAX_TIMER_MS = 2_147_483_647;

/** What a chat session needs from the rest of the service. */
export interface ChatContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly deliveries: DeliveryMarker;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxMessageChars: number;
  readonly maxFrameBytes: number;
}

/** The verdict on an upgrade request, reached before the socket opens. */
export type Admission =
  | { readonly admitted: true; readonly session: Session; readonly peer: UserRef }
  | { readonly admitted: false; readonly frame: string; readonly reason: string };

/** UTF-8 length of `text`, counting no further than `limit + 1` (enough to know it is over). */
export function utf8LengthUpTo(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length; // Cannot be over: skip the count.
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

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
  #closed = false;
  #joined = false;
  // Until the waiting messages are sent, what the hub hands over (live messages, presence
  // frames) is held here, so that the socket sees its own 30098 first, then the waiting
  // messages, then the rest in the order it came.
  #held: (StoredMessage | string)[] | null = [];
  #lastSentId = 0;
  #inbox: Promise<void> = Promise.resolve();
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
  }

  // --- ChatSocketHandlers ---

  opened(): void {
    if (this.#closed) return;
    const admission = this.#admission;
    if (!admission.admitted) {
      this.#context.log.info("chat.rejected", { conn: this.#id, reason: admission.reason });
      this.terminate(admission.frame, CLOSE_CODE.POLICY_VIOLATION, admission.reason);
      return;
    }
    this.#context.log.info("chat.open", {
      conn: this.#id,
      user: this.user.username,
      peer: this.peer.username,
    });
    this.#armExpiry(admission.session.expiresAt);
    this.#inbox = this.#start().catch((error) => this.#fail("chat.start_failed", error));
  }

  received(data: string | ArrayBuffer): void {
    if (this.#closed || !this.#admission.admitted) return;
    const size = typeof data === "string"
      ? utf8LengthUpTo(data, this.#context.maxFrameBytes)
      : data.byteLength;
    if (size > this.#context.maxFrameBytes) {
      this.#context.log.warn("chat.frame_too_big", { conn: this.#id, user: this.user.username });
      this.terminate(null, CLOSE_CODE.MESSAGE_TOO_BIG, "Frame too big");
      return;
    }
    if (typeof data !== "string") {
      this.#socket.send(invalidMessageFrame("binary frames are not supported; send JSON text"));
      return;
    }
    // Frames are handled one at a time, so a user's messages are stored in the order sent.
    this.#inbox = this.#inbox.then(() => this.#handleText(data)).catch((error) =>
      this.#fail("chat.frame_failed", error)
    );
  }

  closed(code: number): void {
    this.#shutDown(code);
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
      this.#held.push(message);
      return;
    }
    this.#write(message, frame);
  }

  terminate(frame: string | null, code: number, reason: string): void {
    if (this.#closed) return;
    if (frame !== null) this.#socket.send(frame);
    this.#socket.close(code, reason);
    this.#shutDown(code);
  }

  /** Resolves once the session has closed. */
  get whenClosed(): Promise<void> {
    return this.#whenClosed.promise;
  }

  /** Resolves when every frame received so far has been handled. */
  settled(): Promise<void> {
    return this.#inbox;
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
      this.terminate(
        TOKEN_FAILED_FRAME,
        CLOSE_CODE.POLICY_VIOLATION,
        "Token authentication failed",
      );
      return;
    }
    if (peerOnline) this.#socket.send(peerLoginFrame(this.peer.username));
    // Waiting messages first, oldest first, a page at a time so memory stays bounded.
    for (;;) {
      const page = await repository.waitingMessages(
        this.user.id,
        this.peer.id,
        this.#lastSentId,
        WAITING_PAGE_SIZE,
      );
      if (this.#closed) return;
      for (const message of page) this.#write(message, chatMessageFrame(message));
      if (page.length < WAITING_PAGE_SIZE) break;
    }
    const held = this.#held ?? [];
    this.#held = null;
    for (const item of held) {
      if (typeof item === "string") this.#socket.send(item);
      else this.#write(item, chatMessageFrame(item));
    }
  }

  #write(message: StoredMessage, frame: string): void {
    // Ids grow in send order on a pair: an id not above the last one was sent already.
    if (message.messageId <= this.#lastSentId) return;
    this.#socket.send(frame);
    this.#lastSentId = message.messageId;
    this.#context.deliveries.mark([message.messageId]);
  }

  // Runs also after the socket closed: a frame received before the close is still stored.
  async #handleText(text: string): Promise<void> {
    const decoded = decodeClientFrame(text, this.#context.maxMessageChars);
    if (!decoded.ok) {
      this.send(invalidMessageFrame(decoded.reason));
      return;
    }
    const { msg, id } = decoded.message;
    const sentAt = this.#context.clock();
    let saved;
    try {
      saved = await this.#context.repository.saveMessage({
        from: this.user,
        to: this.peer,
        msg,
        sendTime: formatLocalTime(sentAt),
        sentAt,
        clientId: id,
      });
    } catch (error) {
      this.#context.log.error("chat.store_failed", { conn: this.#id, error: errorMessage(error) });
      this.send(notStoredFrame(id));
      return;
    }
    const { message, duplicate } = saved;
    // Acknowledged once handed to the hub: a message the client sends after this 30010, from
    // any socket on any node, then reaches the peer after this one.
    if (!duplicate) await this.#context.hub.publish(message, this.user.id, this.peer.id);
    if (id !== null) this.send(storedFrame(id, message.messageId, message.sendTime));
  }

  #armExpiry(expiresAt: number): void {
    const delay = expiresAt - this.#context.clock();
    this.#expiryTimer = setTimeout(() => {
      if (delay > MAX_TIMER_MS) this.#armExpiry(expiresAt);
      else this.terminate(TOKEN_FAILED_FRAME, CLOSE_CODE.POLICY_VIOLATION, "Token expired");
    }, Math.max(0, Math.min(delay, MAX_TIMER_MS)));
  }

  #fail(event: string, error: unknown): void {
    this.#context.log.error(event, { conn: this.#id, error: errorMessage(error) });
    if (error instanceof HubUnavailableError) {
      this.terminate(null, CLOSE_CODE.TRY_AGAIN_LATER, "Try again later");
    } else {
      this.terminate(null, CLOSE_CODE.INTERNAL_ERROR, "Internal error");
    }
  }

  #shutDown(code: number): void {
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
    clearTimeout(this.#expiryTimer);
    this.#whenClosed.resolve();
    if (this.#joined) {
      this.#context.hub.leave(this).catch((error) =>
        this.#context.log.error("chat.leave_failed", { conn: this.#id, error: errorMessage(error) })
      );
    }
  }
}
