/**
 * The `chat.v2` side of a pair socket: the read marker, typing and recalls going out, and the
 * frames only v2 sockets get coming in (30012 read, 30013 sent elsewhere, 30014 typing, 30015
 * recalled, 30016 delivered), handed on as events.
 *
 * - The read marker only moves forward; one set while the socket is down is sent when one opens.
 * - `typing(true)` goes out at most once per `TYPING_REPEAT_MS` (the service counts a `true` as
 *   ended after 6 s without a repeat, and limits typing frames per socket); `typing(false)` only
 *   after a `true`. Typing is never sent while the socket is down: it would be stale.
 * - `recall(id)` resolves on the 30015 that names it, and rejects on a 30004 that refuses it or
 *   when the socket is down or drops before the answer.
 */
import { encodeReadFrame, encodeRecallFrame, encodeTypingFrame } from "../protocol/client_frame.ts";
import type { V2ServerFrame } from "../protocol/server_frame.ts";
import { CHAT_STATUS } from "../protocol/status.ts";
import type { ChatEvents } from "./chat_events.ts";
import type { MessageReceiver } from "./message_receiver.ts";
import { SendError } from "./send_queue.ts";

/** How often a held `typing(true)` is repeated, at most. */
export const TYPING_REPEAT_MS = 4_000;

/** What the v2 side needs from its client. */
export interface PairExtrasOptions {
  /** Sends a frame on the open socket; false when none is open. */
  readonly send: (frame: string) => boolean;
  readonly events: ChatEvents;
  readonly receiver: MessageReceiver;
  /** The clock, in ms; `Date.now` by default. */
  readonly now?: () => number;
}

/** The v2 side of one pair socket; see the module documentation. */
export class PairExtras {
  readonly #options: PairExtrasOptions;
  readonly #now: () => number;
  // The highest message_id marked read, and the highest sent to the service.
  #readUpTo = 0;
  #readSent = 0;
  // When a typing `true` last went out on this socket (null: none since the last `false`).
  #typingSince: number | null = null;
  readonly #recalls = new Map<number, PromiseWithResolvers<void>>();

  constructor(options: PairExtrasOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Marks the peer's messages up to `messageId` read (never backwards). */
  read(messageId: number): void {
    if (messageId <= this.#readUpTo) return;
    this.#readUpTo = messageId;
    this.#sendRead();
  }

  /** Says that I am typing (`true`) or stopped (`false`). */
  typing(typing: boolean): void {
    if (typing) {
      const since = this.#typingSince;
      if (since !== null && this.#now() - since < TYPING_REPEAT_MS) return;
      if (this.#options.send(encodeTypingFrame(true))) this.#typingSince = this.#now();
    } else if (this.#typingSince !== null) {
      this.#typingSince = null;
      this.#options.send(encodeTypingFrame(false));
    }
  }

  /** Recalls my message `messageId`; resolves once the service says it is recalled. */
  recall(messageId: number): Promise<void> {
    const pending = this.#recalls.get(messageId);
    if (pending !== undefined) return pending.promise;
    if (!this.#options.send(encodeRecallFrame(messageId))) {
      return Promise.reject(new SendError("The chat socket is not open", null, true));
    }
    const answer = Promise.withResolvers<void>();
    this.#recalls.set(messageId, answer);
    return answer.promise;
  }

  /** A socket opened: a read marker set meanwhile goes out. */
  opened(): void {
    this.#typingSince = null;
    this.#sendRead();
  }

  /** The socket ended: recalls without an answer fail (one may still have been done). */
  dropped(error: SendError): void {
    this.#typingSince = null;
    // The marker may not have reached the service: send it again on the next socket.
    this.#readSent = 0;
    for (const answer of this.#recalls.values()) answer.reject(error);
    this.#recalls.clear();
  }

  /** A 30004 that refuses my read marker or recall (it names it), not a message. */
  refused(control: "read" | "recall", messageId: number, reason: string): void {
    if (control !== "recall") return;
    const answer = this.#recalls.get(messageId);
    this.#recalls.delete(messageId);
    answer?.reject(new SendError(reason, CHAT_STATUS.INVALID_MESSAGE, false));
  }

  /** A frame only v2 sockets get. */
  received(frame: V2ServerFrame): void {
    const events = this.#options.events;
    switch (frame.status) {
      case CHAT_STATUS.READ:
        events.emit("read", { reader: frame.reader, messageId: frame.messageId });
        return;
      case CHAT_STATUS.DELIVERED:
        events.emit("delivered", { messageId: frame.messageId });
        return;
      case CHAT_STATUS.TYPING:
        events.emit("typing", { fromUser: frame.fromUser, typing: frame.typing });
        return;
      case CHAT_STATUS.RECALLED: {
        const answer = this.#recalls.get(frame.messageId);
        this.#recalls.delete(frame.messageId);
        answer?.resolve();
        events.emit("recalled", { messageId: frame.messageId, fromUser: frame.fromUser });
        return;
      }
      case CHAT_STATUS.SENT:
        // Mine, from another socket: never handed on as a message, nor again from history.
        this.#options.receiver.markSeen([frame.sent.messageId]);
        events.emit("sent", frame.sent);
        return;
    }
  }

  #sendRead(): void {
    if (this.#readUpTo <= this.#readSent) return;
    if (this.#options.send(encodeReadFrame(this.#readUpTo))) this.#readSent = this.#readUpTo;
  }
}
