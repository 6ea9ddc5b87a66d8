/**
 * Delivery receipts of the chat client (`&ack=1`): once a 30001 has arrived, the client sends
 * `{"ack": <message_id>}`, and the service counts a message as delivered only then. Receipts are
 * cumulative, so one frame per turn of the event loop covers a burst. Without them the service
 * counts a message as delivered once it has handed it to the network, so a connection that dies
 * with frames in flight loses them; with them the service itself sends every unacknowledged
 * message again, in order, on the next socket.
 */
import { encodeAckFrame } from "../protocol/client_frame.ts";
import type { Timers } from "./timers.ts";

/** Writes a frame on the open socket; false when there is none. */
export type SendFrame = (frame: string) => boolean;

/** The receipts of one socket at a time; see the module documentation. */
export class Receipts {
  readonly #timers: Timers;
  readonly #send: SendFrame;
  // The highest message_id the current socket brought, and the highest acknowledged on it.
  #receivedUpTo = 0;
  #ackedUpTo = 0;
  #timer: unknown = null;

  constructor(timers: Timers, send: SendFrame) {
    this.#timers = timers;
    this.#send = send;
  }

  /**
   * A 30001 came on this socket: acknowledge it, with every other message of this turn of the
   * event loop. The client has it by now, handed on or held to be handed on in order; a message
   * seen before is acknowledged too.
   */
  acknowledge(messageId: number): void {
    this.#receivedUpTo = Math.max(this.#receivedUpTo, messageId);
    if (this.#timer !== null) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = null;
      if (this.#receivedUpTo <= this.#ackedUpTo) return;
      if (this.#send(encodeAckFrame(this.#receivedUpTo))) this.#ackedUpTo = this.#receivedUpTo;
    }, 0);
  }

  /** The socket ended (or a new one opened): nothing is received on it yet, nothing to send. */
  reset(): void {
    if (this.#timer !== null) this.#timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#receivedUpTo = 0;
    this.#ackedUpTo = 0;
  }
}
