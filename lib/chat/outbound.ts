/**
 * The outbound side of one chat socket: what the server writes to it, in order, and when a
 * written message counts as delivered. It holds live traffic back while waiting messages are
 * sent, drops a message id at or below the last one sent (order, no duplicates), keeps within the
 * byte buffer and, in receipt mode, within the acknowledgement window, and confirms deliveries:
 * by the client's receipt in receipt mode, else once the socket's buffer has drained.
 */
import type { StoredMessage } from "../storage/repository.ts";
import type { Limits } from "../config.ts";
import type { Metrics } from "../metrics.ts";
import type { ChatSocket } from "./socket.ts";
import type { DeliveredPair, DeliveryMarker } from "./delivery_marker.ts";

/** How many waiting messages are read from storage at a time. */
export const WAITING_PAGE_SIZE = 500;

/** How long sending waiting messages may stall on a full buffer or window before 1013. */
export const STALL_TIMEOUT_MS = 30_000;

// How often a stalled sender looks again, and when a written frame counts as handed over.
const POLL_MS = 10;

/** A live message held while waiting ones are sent, with its frame encoded once by the hub. */
interface HeldMessage {
  readonly message: StoredMessage;
  readonly frame: string;
}

/** What the outbound side needs. */
export interface OutboundOptions {
  readonly socket: ChatSocket;
  /** Receipt mode (`ack=1`): a message counts as delivered only once the client acks it. */
  readonly receipts: boolean;
  readonly limits: Pick<Limits, "maxBufferedBytes" | "maxUnacked">;
  readonly deliveries: DeliveryMarker;
  /** The conversation whose messages this socket receives, for the delivered cursor (30016). */
  readonly pair?: DeliveredPair;
  readonly metrics: Metrics;
  /** The receiver cannot keep up (`cause` says how); the session ends the socket with 1013. */
  readonly onTooSlow: (cause: string) => void;
}

/** Writes frames to one socket with flow control and delivery confirmation. */
export class Outbound {
  readonly #options: OutboundOptions;
  // Until the waiting messages are sent, what the hub hands over (live messages, presence
  // frames) is held here, so that the socket sees its own 30098 first, then the waiting
  // messages, then the rest in the order it came.
  #held: (HeldMessage | string)[] | null = [];
  #lastSentId = 0;
  // Ids written to the socket but not yet confirmed: by the client's receipt in receipt mode,
  // else by the socket's buffer draining. Unconfirmed messages stay waiting if the socket dies.
  #unconfirmed: number[] = [];
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: OutboundOptions) {
    this.#options = options;
  }

  /** The highest message id written to the socket. */
  get lastSentId(): number {
    return this.#lastSentId;
  }

  /** How many written messages wait for confirmation. */
  get unconfirmedCount(): number {
    return this.#unconfirmed.length;
  }

  /**
   * A control frame (presence, an answer): held while waiting messages go out, else sent. It
   * counts against the byte buffer like a message: a client that never reads while its own
   * frames draw answers (30004, 30005, 30010) is closed with 1013, not grown without bound.
   */
  send(frame: string): void {
    if (this.#closed) return;
    if (this.#held === null) {
      this.#sendControl(frame);
      return;
    }
    if (this.#held.length >= this.#heldBound()) {
      this.#options.onTooSlow("held");
      return;
    }
    this.#held.push(frame);
  }

  /** A frame that goes out at once, ahead of anything held (the socket's own first 30098). */
  sendNow(frame: string): void {
    if (!this.#closed) this.#sendControl(frame);
  }

  /** A live message from the peer: held while waiting messages go out (bounded), else written. */
  deliver(message: StoredMessage, frame: string): void {
    if (this.#closed) return;
    if (this.#held === null) {
      this.#write(message, frame);
      return;
    }
    // Bounded: a receiver this far behind is closed; the messages stay waiting.
    if (this.#held.length >= this.#heldBound()) {
      this.#options.onTooSlow("held");
      return;
    }
    this.#held.push({ message, frame });
  }

  /**
   * Writes a page of waiting messages at the pace the socket drains; `false` when the socket
   * closed or stalled meanwhile (then the rest stay waiting).
   */
  async writeWaiting(page: readonly StoredMessage[], encode: (m: StoredMessage) => string) {
    for (const message of page) {
      if (!this.#hasRoom(true) && !(await this.#roomToSend())) return false;
      this.#write(message, encode(message));
    }
    return !this.#closed;
  }

  /** Holds live traffic again, until `releaseHeld` (messages read from storage go first). */
  hold(): void {
    if (!this.#closed && this.#held === null) this.#held = [];
  }

  /** The waiting messages are out: send what was held, in the order it came, then live. */
  releaseHeld(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const item of held) {
      if (this.#closed) return;
      if (typeof item === "string") this.#sendControl(item);
      else this.#write(item.message, item.frame);
    }
  }

  /**
   * The socket is ending while waiting messages are still being read: the control frames held
   * meanwhile (answers, presence) go out now, in order, ahead of the last frame; held messages
   * are not written and stay waiting for the next socket.
   */
  flushHeldFrames(): void {
    const held = this.#held;
    if (held === null || this.#closed) return;
    this.#held = [];
    for (const item of held) if (typeof item === "string") this.#options.socket.send(item);
  }

  /** A receipt: every message up to `upTo` written to this socket is delivered. */
  confirmUpTo(upTo: number): void {
    let count = 0;
    while (count < this.#unconfirmed.length && this.#unconfirmed[count] <= upTo) count++;
    if (count === 0) return;
    this.#options.deliveries.mark(this.#unconfirmed.slice(0, count), this.#options.pair);
    this.#unconfirmed = this.#unconfirmed.slice(count);
  }

  /**
   * The socket ended. `handedOver`: every frame was handed to the network, so without receipts
   * what was written is delivered; otherwise it stays waiting for the next socket.
   */
  close(handedOver: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#options.receipts && handedOver) this.#confirmAll();
    clearTimeout(this.#drainTimer);
  }

  /** Waits until the socket can take another frame; `false` when it closed or stalled. */
  async #roomToSend(): Promise<boolean> {
    const deadline = performance.now() + STALL_TIMEOUT_MS;
    while (!this.#closed && !this.#hasRoom(true)) {
      if (performance.now() >= deadline) {
        this.#options.onTooSlow("stalled");
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return !this.#closed;
  }

  /** Whether another frame fits: within the byte buffer and, in receipt mode, the ack window. */
  #hasRoom(eager: boolean): boolean {
    const { maxBufferedBytes, maxUnacked } = this.#options.limits;
    // Sending waiting messages pauses at half the buffer, well before live traffic would close.
    const bufferLimit = eager ? maxBufferedBytes / 2 : maxBufferedBytes;
    if (this.#options.socket.bufferedAmount > bufferLimit) return false;
    return !this.#options.receipts || this.#unconfirmed.length < maxUnacked;
  }

  // How many frames may be held while the waiting messages go out.
  #heldBound(): number {
    return this.#options.limits.maxUnacked + WAITING_PAGE_SIZE;
  }

  /** Sends a frame that is not a message, within the byte buffer (else the socket is too slow). */
  #sendControl(frame: string): void {
    if (this.#options.socket.bufferedAmount > this.#options.limits.maxBufferedBytes) {
      this.#options.onTooSlow("buffer");
      return;
    }
    this.#options.socket.send(frame);
  }

  #write(message: StoredMessage, frame: string): void {
    // Ids grow in send order on a pair: an id not above the last one was sent already.
    if (message.messageId <= this.#lastSentId) return;
    const { socket, receipts } = this.#options;
    if (!this.#hasRoom(false)) {
      this.#options.onTooSlow(receipts ? "unacknowledged" : "buffer");
      return;
    }
    // An empty buffer means every earlier frame was handed to the network, and this one goes
    // straight out after them: without receipts that counts as delivered at once. Frames queued
    // behind others wait until the buffer drains, so a receiver closed as too slow gets them
    // again on its next socket.
    const idle = socket.bufferedAmount === 0;
    socket.send(frame);
    this.#lastSentId = message.messageId;
    this.#unconfirmed.push(message.messageId);
    this.#options.metrics.observeDelivery(message);
    if (receipts) return;
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
      if (this.#options.socket.bufferedAmount === 0) this.#confirmAll();
      else this.#armDrainCheck(POLL_MS);
    }, delayMs);
  }

  #confirmAll(): void {
    if (this.#unconfirmed.length === 0) return;
    this.#options.deliveries.mark(this.#unconfirmed, this.#options.pair);
    this.#unconfirmed = [];
  }
}
