/**
 * Reads what waits for one socket from storage and writes it ahead of live traffic: when the
 * socket opens, and again whenever the hub says that messages of the pair may be stored and not
 * published (`catchUp`: the node that stored them died first). Live messages and control frames
 * are held meanwhile (`Outbound`), so the socket gets every message in `message_id` order, each
 * once; a read asked for while one runs follows right after it, before anything held is let go.
 */
import { chatMessageFrame } from "../protocol/server_frame.ts";
import type { Repository } from "../storage/repository.ts";
import { type Outbound, WAITING_PAGE_SIZE } from "./outbound.ts";

/** What the reader needs: where messages wait, whose they are, and the socket's outbound side. */
export interface WaitingReaderOptions {
  readonly repository: Pick<Repository, "waitingMessages">;
  /** The socket's user, who receives. */
  readonly receiver: number;
  /** Its peer, whose messages it receives. */
  readonly sender: number;
  readonly outbound: Outbound;
}

/** Reads waiting messages for one socket, on open and on each catch-up. */
export class WaitingReader {
  readonly #options: WaitingReaderOptions;
  // The read on open has begun: a catch-up may start a read of its own from then on.
  #opened = false;
  // Another read was asked for while one ran.
  #again = false;
  #reading: Promise<void> | null = null;

  constructor(options: WaitingReaderOptions) {
    this.#options = options;
  }

  /** The read when the socket opens; resolves once what waited is written and live flows. */
  readOnOpen(): Promise<void> {
    this.#opened = true;
    return this.#read();
  }

  /**
   * Reads again: live traffic is held from now on; the read runs once the one in progress (or
   * the read on open, if it has not begun) is done.
   */
  catchUp(): Promise<void> {
    this.#options.outbound.hold();
    if (!this.#opened) return Promise.resolve();
    return this.#read();
  }

  #read(): Promise<void> {
    this.#again = true;
    this.#reading ??= this.#readUntilDone();
    return this.#reading;
  }

  async #readUntilDone(): Promise<void> {
    try {
      while (this.#again) {
        this.#again = false;
        // Closed or stalled: the rest stays waiting for the next socket.
        if (!(await this.#readPages())) return;
      }
      this.#options.outbound.releaseHeld();
    } finally {
      // Synchronously after the last check: a catch-up from now on starts a read of its own.
      this.#reading = null;
    }
  }

  /** Every page after the last message written, oldest first; `false` if the socket gave out. */
  async #readPages(): Promise<boolean> {
    const { repository, receiver, sender, outbound } = this.#options;
    for (;;) {
      const page = await repository.waitingMessages(
        receiver,
        sender,
        outbound.lastSentId,
        WAITING_PAGE_SIZE,
      );
      if (!(await outbound.writeWaiting(page, chatMessageFrame))) return false;
      if (page.length < WAITING_PAGE_SIZE) return true;
    }
  }
}
