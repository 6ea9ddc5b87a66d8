/**
 * The history of the open conversation, page by page, without the DOM: the newest page first,
 * then older ones on request. Live messages that come before the first page wait for it (it
 * decides where they belong); a live message older than the loaded pages belongs to an older page
 * and is left for it. A busy service (503) or a rate limit (429) says the history will load again,
 * and it does.
 */
import { ApiError, type ChatApi, RetryLaterError } from "../../client/chat_api.ts";
import type { HistoryMessage } from "../../protocol/history_item.ts";
import type { ChatMessageView } from "../../protocol/server_frame.ts";
import { API_STATUS } from "../../protocol/status.ts";
import type { Translate } from "./i18n.ts";

const HISTORY_PAGE = 50;
// Bounds of the wait before loading history again after a 429 or 503.
const HISTORY_RETRY_MIN_MS = 500;
const HISTORY_RETRY_MAX_MS = 30_000;

/** What the pager needs from its conversation. */
export interface HistoryPagerOptions {
  readonly api: ChatApi;
  readonly token: string;
  readonly peer: string;
  readonly t: Translate;
  /** Puts a message of history in the conversation. */
  readonly add: (message: HistoryMessage) => void;
  /** How many messages the conversation shows. */
  readonly count: () => number;
  /** A page was read: these messages need not come again from the socket. */
  readonly read: (messages: readonly HistoryMessage[]) => void;
  /** Hands on a live message that waited for the first page. */
  readonly release: (message: ChatMessageView) => void;
  /** Something changed; `first` tells the first page from an older one, null: no page. */
  readonly changed: (page: "first" | "older" | null) => void;
  readonly sessionEnded: () => void;
  readonly peerMissing: () => void;
}

/** The pages of history; see the module documentation. */
export class HistoryPager {
  readonly #options: HistoryPagerOptions;
  // undefined until the first page is read; null once there is nothing older.
  #nextBefore: number | null | undefined = undefined;
  #loading = false;
  #closed = false;
  // The lowest message_id read from history; older messages come with older pages.
  #oldestLoaded = Number.POSITIVE_INFINITY;
  #early: ChatMessageView[] | null = [];
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** The line above the messages: loading, the end of history, a failure. */
  status = "";

  constructor(options: HistoryPagerOptions) {
    this.#options = options;
  }

  /** Whether an older page may still come. */
  get hasOlder(): boolean {
    return this.#nextBefore !== null;
  }

  /**
   * Whether a live message is not to be shown now: before the first page it waits (and is
   * handed on after it); one older than the loaded pages belongs to an older page.
   */
  holds(message: ChatMessageView): boolean {
    if (this.#early !== null) {
      this.#early.push(message);
      return true;
    }
    return typeof this.#nextBefore === "number" && message.messageId < this.#oldestLoaded;
  }

  /** The first message put in an empty conversation: "no messages yet" no longer holds. */
  refreshStatus(): void {
    const t = this.#options.t;
    if (this.#options.count() > 0 && this.status === t("noMessages")) this.status = t("noOlder");
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  /** Reads the next older page (the first call reads the newest). */
  async loadOlder(): Promise<void> {
    if (this.#loading || this.#nextBefore === null || this.#closed) return;
    this.#loading = true;
    const first = this.#nextBefore === undefined;
    const { t } = this.#options;
    this.status = t("loadingOlder");
    this.#options.changed(null);
    let loaded = false;
    try {
      loaded = await this.#readPage();
    } catch (error) {
      if (!this.#closed) this.#failed(error);
    } finally {
      this.#loading = false;
    }
    if (this.#closed) return;
    const early = this.#early;
    this.#early = null;
    for (const message of early ?? []) this.#options.release(message);
    if (loaded) {
      this.status = this.#options.count() === 0
        ? t("noMessages")
        : t(this.#nextBefore === null ? "noOlder" : "scrollForOlder");
    }
    this.#options.changed(loaded ? (first ? "first" : "older") : null);
  }

  async #readPage(): Promise<boolean> {
    const page = await this.#options.api.history(this.#options.token, this.#options.peer, {
      limit: HISTORY_PAGE,
      before: this.#nextBefore,
    });
    if (this.#closed) return false;
    for (const message of page.messages) this.#options.add(message);
    this.#options.read(page.messages);
    this.#nextBefore = page.nextBefore;
    const oldest = page.messages.at(-1);
    if (oldest !== undefined) this.#oldestLoaded = oldest.messageId;
    return true;
  }

  #failed(error: unknown): void {
    const { t } = this.#options;
    if (error instanceof RetryLaterError) {
      this.status = t("historyBusy");
      const wait = Math.min(
        Math.max(error.retryAfterMs, HISTORY_RETRY_MIN_MS),
        HISTORY_RETRY_MAX_MS,
      );
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => void this.loadOlder(), wait);
    } else if (error instanceof ApiError && error.status === API_STATUS.TOKEN_FAILED) {
      this.#options.sessionEnded();
    } else if (error instanceof ApiError && error.status === API_STATUS.NOT_FOUND) {
      this.#options.peerMissing();
    } else this.status = t("historyFailed");
  }
}
