/**
 * What the chat client hands on of the messages that reach it, 30001 frames and messages read
 * back from history after a reconnect: each `message_id` once, in order.
 *
 * - A `message_id` handed on, marked seen by the program, or named by a 30010 as my own message
 *   is never handed on (again).
 * - While a catch-up reads history, live messages are held, and handed on after what history
 *   filled in, in `message_id` order.
 * - A note to self comes back to the socket that sent it too, and the service may send that copy
 *   before the 30010 that names its `message_id`. So a message with the text of my frame in
 *   flight, and every message after it, waits for that frame's answer, which tells an echo
 *   (dropped) from a message of my other socket (handed on).
 */
import type { ChatMessageView } from "../protocol/server_frame.ts";

/** Hands a message on, once, in order: to the client's `message` listeners. */
export type HandOn = (message: ChatMessageView) => void;

/** The receiving side of the chat client; see the module documentation. */
export class MessageReceiver {
  readonly #handOn: HandOn;
  readonly #seen = new Set<number>();
  // The highest message_id received as a message or marked seen: history is complete up to it,
  // so a catch-up pages back no further.
  #caughtUpTo = 0;
  // While a catch-up runs, live messages wait here so that they stay in message_id order.
  #held: ChatMessageView[] | null = null;
  // Messages that may be the echo of my frame in flight, waiting for its answer.
  #maybeEchoes: ChatMessageView[] | null = null;

  constructor(handOn: HandOn) {
    this.#handOn = handOn;
  }

  /** The highest `message_id` received or marked seen (0 before any). */
  get caughtUpTo(): number {
    return this.#caughtUpTo;
  }

  /** Whether live messages are being held for a catch-up. */
  get holding(): boolean {
    return this.#held !== null;
  }

  /**
   * A 30001 from the socket. `inFlightText` is the text of my frame that awaits its answer
   * (null when none does): a message with that text may be its echo, and waits, with every
   * message after it, until the answer comes.
   */
  arrived(message: ChatMessageView, inFlightText: string | null): void {
    if (this.#maybeEchoes !== null || message.msg === inFlightText) {
      (this.#maybeEchoes ??= []).push(message);
    } else this.accept(message);
  }

  /** A 30010: `messageId` is my own message, never handed on; what waited on it goes on. */
  stored(messageId: number): void {
    this.#seen.add(messageId);
    this.releaseEchoes();
  }

  /** The frame in flight was answered without a `message_id` (or the client stopped). */
  releaseEchoes(): void {
    const waiting = this.#maybeEchoes;
    this.#maybeEchoes = null;
    for (const message of waiting ?? []) this.accept(message);
  }

  /** Messages the program already has: never handed on, and a catch-up stops at them. */
  markSeen(messageIds: Iterable<number>): void {
    for (const id of messageIds) {
      this.#seen.add(id);
      this.#caughtUpTo = Math.max(this.#caughtUpTo, id);
    }
  }

  /** Hands `message` on unless its `message_id` was seen; holds it during a catch-up. */
  accept(message: ChatMessageView): void {
    if (this.#seen.has(message.messageId)) return;
    this.#seen.add(message.messageId);
    this.#caughtUpTo = Math.max(this.#caughtUpTo, message.messageId);
    if (this.#held !== null) this.#held.push(message);
    else this.#handOn(message);
  }

  /** A catch-up starts: live messages wait until `releaseHeld()`. */
  hold(): void {
    this.#held ??= [];
  }

  /** The catch-up ended: hands on what was held, in `message_id` order, and holds no more. */
  releaseHeld(): void {
    const held = this.#held;
    this.#held = null;
    if (held === null) return;
    held.sort((a, b) => a.messageId - b.messageId);
    for (const message of held) this.#handOn(message);
  }
}
