/**
 * The open conversation with one peer, without the DOM: history (older pages on request), live
 * and waiting messages through the chat client, presence, connection state, errors and sending.
 * The view (`conversation_view.tsx`) draws its snapshot and calls its methods; every change
 * calls the listeners, with a scroll intent that says how the view should follow it.
 *
 * Limits read as words: a message the service rate-limited (30005) says it will be resent; too
 * many sockets of this user (30006) puts a sentence above the conversation until a socket gets
 * in; a socket closed with 1013 (too slow, or a cluster node that lost Redis) says so in the
 * connection badge; a busy service (503) or a rate limit (429) on the history says the page will
 * try again, and does.
 */
import {
  ChatClient,
  type ErrorEvent as ChatErrorEvent,
  newClientId,
  SendError,
  type StateEvent,
} from "../../client/chat_client.ts";
import { ApiError, type ChatApi, RetryLaterError } from "../../client/chat_api.ts";
import { DEFAULT_MAX_MESSAGE_CHARS } from "../../protocol/client_frame.ts";
import type { ChatMessageView } from "../../protocol/server_frame.ts";
import { API_STATUS, CHAT_STATUS } from "../../protocol/status.ts";
import { countCodePoints } from "../../protocol/text.ts";
import { usernameKey } from "../../users/username.ts";
import { type Banner, errorBanner, reasonText } from "./conversation_text.ts";
import type { Translate } from "./i18n.ts";
import { type BookItem, MessageBook } from "./message_book.ts";

/** The longest message the page lets a user send (the service's default MAX_MESSAGE_CHARS). */
export const MAX_MESSAGE_CHARS = DEFAULT_MAX_MESSAGE_CHARS;
const HISTORY_PAGE = 50;
// Bounds of the wait before loading history again after a 429 or 503.
const HISTORY_RETRY_MIN_MS = 500;
const HISTORY_RETRY_MAX_MS = 30_000;

/** What a conversation needs from the page. */
export interface ConversationOptions {
  readonly api: ChatApi;
  readonly baseUrl: string;
  readonly token: string;
  readonly me: string;
  readonly peer: string;
  readonly t: Translate;
  /** Whether the page is out of sight (unread messages then count in the title). */
  readonly hidden: () => boolean;
  /** The token is no longer valid (30002, or 401 from the API). */
  readonly onSessionEnded: () => void;
  /** The peer does not exist (30003, or 404 from the API). */
  readonly onPeerMissing: (peer: string) => void;
  /** The service spells the peer's name this way. */
  readonly onPeerName: (name: string) => void;
}

/**
 * How the view follows a change: to the bottom (the first page, my own message), keeping its
 * place from the bottom (an older page came in above), or following a new message only when it
 * was at the bottom already.
 */
export type ScrollIntent = "bottom" | "older" | "arrived" | null;

/** One conversation; see the module documentation. */
export class Conversation {
  readonly me: string;
  readonly selfChat: boolean;
  readonly book = new MessageBook();
  readonly #options: ConversationOptions;
  readonly #t: Translate;
  readonly #client: ChatClient;
  readonly #meKey: string;
  readonly #peerKey: string;
  readonly #listeners = new Set<(scroll: ScrollIntent) => void>();
  // undefined until the first page is read; null once there is nothing older.
  #nextBefore: number | null | undefined = undefined;
  #loadingOlder = false;
  // The lowest message_id read from history; older messages come with older pages.
  #oldestLoaded = Number.POSITIVE_INFINITY;
  // Messages from the socket that came before the first page of history, which decides
  // where they belong.
  #early: ChatMessageView[] | null = [];
  #closed = false;
  // My messages not yet stored, by client id, so that an error naming an id finds its item.
  readonly #sending = new Map<string, BookItem>();
  #historyRetry: ReturnType<typeof setTimeout> | undefined;

  peerName: string;
  unread = 0;
  connection: StateEvent = { state: "connecting", attempt: 0, retryInMs: null, closeCode: null };
  presence: boolean | null = null;
  banner: Banner | null = null;
  historyStatus = "";
  peerMissing = false;

  constructor(options: ConversationOptions) {
    this.#options = options;
    this.#t = options.t;
    this.me = options.me;
    this.peerName = options.peer;
    this.#meKey = usernameKey(options.me);
    this.#peerKey = usernameKey(options.peer);
    this.selfChat = this.#meKey === this.#peerKey;
    this.#client = new ChatClient({
      baseUrl: options.baseUrl,
      token: options.token,
      peer: options.peer,
      maxMessageChars: MAX_MESSAGE_CHARS,
    });
  }

  /** Calls `listener` after each change; returns a function that stops it. */
  subscribe(listener: (scroll: ScrollIntent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Opens the socket and reads the newest page of history. */
  start(): void {
    this.#wire();
    this.#client.connect();
    void this.loadOlder();
  }

  /** Stops listening and closes the socket. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#historyRetry);
    this.#listeners.clear();
    return this.#client.close();
  }

  /** Goes back to trying at once when the network is back. */
  reconnectNow(): void {
    this.#client.reconnectNow();
  }

  /** The page is in sight again: no unread messages in the title. */
  markRead(): void {
    this.unread = 0;
    this.#changed(null);
  }

  /** The window's title: unread count, peer, app. */
  get title(): string {
    const prefix = this.unread > 0 ? `(${this.unread}) ` : "";
    return `${prefix}${this.peerName} · ${this.#t("appName")}`;
  }

  /** Whether an older page may still come. */
  get hasOlder(): boolean {
    return this.#nextBefore !== null;
  }

  hideBanner(): void {
    this.banner = null;
    this.#changed(null);
  }

  #changed(scroll: ScrollIntent): void {
    if (this.#closed) return;
    // The first message put in an empty conversation: "no messages yet" no longer holds.
    if (this.book.size > 0 && this.historyStatus === this.#t("noMessages")) {
      this.historyStatus = this.#t("noOlder");
    }
    for (const listener of [...this.#listeners]) listener(scroll);
  }

  #wire(): void {
    const client = this.#client;
    client.on("state", (event) => {
      this.connection = event;
      if (event.state !== "open") this.presence = null;
      // A socket got in: a sentence about being refused (30006) no longer holds. If this one is
      // refused too, its 30006 follows at once and puts the sentence back.
      if (event.state === "open" && this.banner?.kind === "connection") this.banner = null;
      this.#changed(null);
    });
    client.on("presence", ({ online }) => {
      this.presence = online;
      this.#changed(null);
    });
    client.on("message", (message) => this.#receive(message));
    client.on("error", (event) => this.#onError(event));
  }

  #onError(event: ChatErrorEvent): void {
    if (this.#closed) return;
    if (event.status === CHAT_STATUS.TOKEN_FAILED) this.#options.onSessionEnded();
    else if (event.status === CHAT_STATUS.TARGET_NOT_FOUND) this.#peerIsMissing();
    else if (event.status === CHAT_STATUS.RATE_LIMITED) {
      // The client sends it again by itself; the item says so until it is stored.
      const item = event.id === null ? undefined : this.#sending.get(event.id);
      if (item !== undefined) {
        item.state = "sending";
        item.label = this.#t("throttled");
      }
    } else {
      this.banner = errorBanner(event, this.#t) ?? this.banner;
    }
    this.#changed(null);
  }

  #peerIsMissing(): void {
    this.banner = {
      text: this.#t("errPeerMissing", { name: this.#options.peer }),
      kind: "message",
    };
    this.peerMissing = true;
    this.#options.onPeerMissing(this.#options.peer);
    this.#changed(null);
  }

  #learnPeerName(name: string): void {
    if (name === this.peerName || usernameKey(name) !== this.#peerKey) return;
    this.peerName = name;
    this.#options.onPeerName(name);
  }

  // --- sending ---

  /** Sends `text`; false when there is nothing to send or it is too long. */
  submit(text: string): boolean {
    if (this.peerMissing || text.trim() === "") return false;
    if (countCodePoints(text) > MAX_MESSAGE_CHARS) return false;
    const item = this.book.addPending(text);
    this.#deliver(newClientId(), text, item);
    this.#changed("bottom");
    return true;
  }

  #deliver(id: string, text: string, item: BookItem): void {
    item.state = "sending";
    item.label = null;
    item.retry = null;
    this.#sending.set(id, item);
    this.#client.send(text, { id }).then((stored) => {
      this.#sending.delete(id);
      this.book.stored(item, stored.messageId, stored.sendTime);
      this.#changed(null);
    }, (error: unknown) => {
      this.#sending.delete(id);
      const retryable = error instanceof SendError && error.retryable;
      const reason = error instanceof SendError && error.status === CHAT_STATUS.INVALID_MESSAGE
        ? reasonText(error.message, this.#t)
        : null;
      item.state = "failed";
      item.label = reason === null ? null : `${this.#t("failed")}：${reason}`;
      item.retry = retryable
        ? () => {
          this.#deliver(id, text, item);
          this.#changed(null);
        }
        : null;
      this.#changed(null);
    });
  }

  // --- receiving and history ---

  #receive(message: ChatMessageView): void {
    if (this.#closed) return;
    if (this.#early !== null) {
      this.#early.push(message);
      return;
    }
    // A waiting message older than the loaded history is in an older page: showing it now
    // would put it among messages it does not belong with.
    if (typeof this.#nextBefore === "number" && message.messageId < this.#oldestLoaded) return;
    if (this.book.has(message.messageId)) return;
    this.#learnPeerName(message.fromUser);
    this.#add(message.messageId, message.fromUser, message.msg, message.sendTime);
    if (this.#options.hidden()) this.unread++;
    this.#changed("arrived");
  }

  #add(messageId: number, fromUser: string, msg: string, sendTime: string): void {
    const mine = usernameKey(fromUser) === this.#meKey;
    this.book.addStored(messageId, mine, msg, sendTime);
  }

  /** Reads the next older page of history (the first call reads the newest). */
  async loadOlder(): Promise<void> {
    if (this.#loadingOlder || this.#nextBefore === null || this.#closed) return;
    this.#loadingOlder = true;
    const first = this.#nextBefore === undefined;
    this.historyStatus = this.#t("loadingOlder");
    this.#changed(null);
    let loaded = false;
    try {
      const page = await this.#options.api.history(this.#options.token, this.#options.peer, {
        limit: HISTORY_PAGE,
        before: this.#nextBefore,
      });
      if (this.#closed) return;
      for (const message of page.messages) {
        const mine = usernameKey(message.fromUser) === this.#meKey;
        this.#learnPeerName(mine ? message.toUser : message.fromUser);
        this.#add(message.messageId, message.fromUser, message.msg, message.sendTime);
      }
      this.#client.markSeen(page.messages.map((message) => message.messageId));
      this.#nextBefore = page.nextBefore;
      const oldest = page.messages.at(-1);
      if (oldest !== undefined) this.#oldestLoaded = oldest.messageId;
      loaded = true;
    } catch (error) {
      if (!this.#closed) this.#historyFailed(error);
    } finally {
      this.#loadingOlder = false;
    }
    if (this.#closed) return;
    this.#releaseEarly();
    if (loaded) this.historyStatus = this.#statusText();
    this.#changed(loaded ? (first ? "bottom" : "older") : null);
  }

  #statusText(): string {
    if (this.book.size === 0) return this.#t("noMessages");
    return this.#t(this.#nextBefore === null ? "noOlder" : "scrollForOlder");
  }

  #historyFailed(error: unknown): void {
    if (error instanceof RetryLaterError) {
      this.historyStatus = this.#t("historyBusy");
      const wait = Math.min(
        Math.max(error.retryAfterMs, HISTORY_RETRY_MIN_MS),
        HISTORY_RETRY_MAX_MS,
      );
      clearTimeout(this.#historyRetry);
      this.#historyRetry = setTimeout(() => void this.loadOlder(), wait);
    } else if (error instanceof ApiError && error.status === API_STATUS.TOKEN_FAILED) {
      this.#options.onSessionEnded();
    } else if (error instanceof ApiError && error.status === API_STATUS.NOT_FOUND) {
      this.#peerIsMissing();
    } else this.historyStatus = this.#t("historyFailed");
  }

  #releaseEarly(): void {
    const early = this.#early;
    this.#early = null;
    for (const message of early ?? []) this.#receive(message);
  }
}
