/**
 * The chat client's catch-up after a reconnect: it reads back from the history API the peer's
 * messages newer than the newest one already handed on, and hands them on before the live
 * messages that came meanwhile (those are held until it ends).
 *
 * Delivery receipts already make the service send every unacknowledged message again on the next
 * socket; the catch-up is the second line for what receipts cannot cover: the service marks a
 * message delivered when any socket of mine acknowledges it, so a message that my other tab or
 * device received while this socket was down never waits for this one. The catch-up gives up
 * after `timeoutMs`, or when the history API fails: live messages go on without the gap.
 */
import { usernameKey } from "../users/username.ts";
import type { HistoryMessage } from "../protocol/history_item.ts";
import type { ChatMessageView } from "../protocol/server_frame.ts";
import type { ChatApi } from "./chat_api.ts";
import type { MessageReceiver } from "./message_receiver.ts";
import type { Timers } from "./timers.ts";

/** What a catch-up needs. */
export interface HistoryCatchUpOptions {
  readonly api: Pick<ChatApi, "history">;
  readonly token: string;
  readonly peer: string;
  /** Where the missed messages go, and where live ones are held meanwhile. */
  readonly receiver: MessageReceiver;
  readonly timers: Timers;
  /** Longest wait for the history API before giving up on it. */
  readonly timeoutMs: number;
  /** Messages per history request (default 100). */
  readonly pageSize?: number;
  /** Most history requests per catch-up (default 10). */
  readonly maxPages?: number;
}

const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_MAX_PAGES = 10;

/** Catch-ups of one conversation, one at a time; see the module documentation. */
export class HistoryCatchUp {
  readonly #options: HistoryCatchUpOptions;
  #abort: AbortController | null = null;
  #task: Promise<void> = Promise.resolve();

  constructor(options: HistoryCatchUpOptions) {
    this.#options = options;
  }

  /** Resolves once the last catch-up started has finished (it never rejects). */
  get settled(): Promise<void> {
    return this.#task;
  }

  /** Starts a catch-up: holds live messages and reads what is missing from history. */
  start(): void {
    const { receiver, timers, timeoutMs } = this.#options;
    const abort = new AbortController();
    this.#abort = abort;
    receiver.hold();
    const timer = timers.setTimeout(() => abort.abort(), timeoutMs);
    this.#task = this.#missedSince(receiver.caughtUpTo, abort.signal)
      .then((missed) => {
        if (this.#abort !== abort) return;
        for (const message of missed) receiver.accept(message);
      }, () => {
        // The history API is unreachable or slow: live messages go on without the gap.
      })
      .finally(() => {
        timers.clearTimeout(timer);
        if (this.#abort === abort) this.end();
      });
  }

  /** Ends the catch-up (if one runs), handing on the live messages it held, in order. */
  end(): void {
    this.#abort?.abort();
    this.#abort = null;
    this.#options.receiver.releaseHeld();
  }

  /** The peer's messages to me after `from`, oldest first, read back from the history API. */
  async #missedSince(from: number, signal: AbortSignal): Promise<ChatMessageView[]> {
    const { api, token, peer } = this.#options;
    const pageSize = this.#options.pageSize ?? DEFAULT_PAGE_SIZE;
    const maxPages = this.#options.maxPages ?? DEFAULT_MAX_PAGES;
    const found: HistoryMessage[] = [];
    let before: number | null = null;
    for (let page = 0; page < maxPages; page++) {
      const result = await api.history(token, peer, { limit: pageSize, before, signal });
      for (const message of result.messages) {
        if (message.messageId > from) found.push(message);
      }
      const oldest = result.messages.at(-1);
      if (result.nextBefore === null || oldest === undefined || oldest.messageId <= from) break;
      before = result.nextBefore;
    }
    const peerKey = usernameKey(peer);
    return found
      // Only what the socket would have brought: the peer's messages (all of a note to self).
      .filter((message) => usernameKey(message.fromUser) === peerKey)
      .sort((a, b) => a.messageId - b.messageId)
      .map(({ messageId, fromUser, msg, sendTime }) => ({ messageId, fromUser, msg, sendTime }));
  }
}
