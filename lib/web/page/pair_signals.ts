/**
 * What the peer's side tells about the open conversation, without the DOM: how far my messages
 * got (sent, delivered, read: 30016 and 30012 are cumulative, and read implies delivered), and
 * whether the peer is typing (30014; a `true` ends by itself after 6 s without a repeat, and
 * with the peer's next message).
 */

/** How far one of my stored messages got. */
export type Receipt = "sent" | "delivered" | "read";

/** A `true` from the peer counts as ended after this long without a repeat. */
export const PEER_TYPING_MS = 6_000;

/** The peer's side of the conversation; see the module documentation. */
export class PairSignals {
  readonly #changed: () => void;
  readonly #knownRead: () => number;
  #readUpTo = 0;
  #deliveredUpTo = 0;
  #typingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the peer is typing now. */
  peerTyping = false;

  /** `knownRead` is what the conversation list says the peer read (`peer_read_upto`). */
  constructor(changed: () => void, knownRead: () => number) {
    this.#changed = changed;
    this.#knownRead = knownRead;
  }

  /** How far my stored message `messageId` got. */
  receipt(messageId: number): Receipt {
    if (messageId <= Math.max(this.#readUpTo, this.#knownRead())) return "read";
    return messageId <= this.#deliveredUpTo ? "delivered" : "sent";
  }

  /** 30012: the peer read my messages up to `messageId`. */
  read(messageId: number): void {
    this.#readUpTo = Math.max(this.#readUpTo, messageId);
    this.#deliveredUpTo = Math.max(this.#deliveredUpTo, messageId);
    this.#changed();
  }

  /** 30016: my messages up to `messageId` reached a socket of the peer. */
  delivered(messageId: number): void {
    this.#deliveredUpTo = Math.max(this.#deliveredUpTo, messageId);
    this.#changed();
  }

  /** 30014: the peer started or stopped typing. */
  typing(typing: boolean): void {
    clearTimeout(this.#typingTimer);
    this.peerTyping = typing;
    if (typing) this.#typingTimer = setTimeout(() => this.typing(false), PEER_TYPING_MS);
    this.#changed();
  }

  /** A message from the peer: the typing is over. */
  peerMessage(): void {
    if (this.peerTyping) this.typing(false);
  }

  close(): void {
    clearTimeout(this.#typingTimer);
  }
}
