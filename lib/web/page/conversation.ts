/**
 * The open conversation with one peer, without the DOM: history (`history_pager.ts`), live and
 * waiting messages through the chat client (on `chat.v2`), mine from my other windows, presence,
 * connection state, errors and sending; how far my messages got and whether the peer types
 * (`pair_signals.ts`); my read marker (moved while the page is in sight), my typing, recalls.
 * The view (`conversation_view.tsx`) draws it and calls its methods; every change calls the
 * listeners, with a scroll intent that says how the view should follow it.
 *
 * Limits read as words: a message the service rate-limited (30005) says it will be resent; too
 * many sockets of this user (30006) puts a sentence above the conversation until a socket gets
 * in; a socket closed with 1013 (too slow, or a cluster node that lost Redis) says so in the
 * connection badge.
 */
import {
  ChatClient,
  type ErrorEvent as ChatErrorEvent,
  newClientId,
  SendError,
  type StateEvent,
} from "../../client/chat_client.ts";
import type { ChatApi } from "../../client/chat_api.ts";
import { DEFAULT_MAX_MESSAGE_CHARS } from "../../protocol/client_frame.ts";
import type { HistoryMessage } from "../../protocol/history_item.ts";
import type { ChatMessageView, SentElsewhere } from "../../protocol/server_frame.ts";
import { CHAT_STATUS } from "../../protocol/status.ts";
import { countCodePoints } from "../../protocol/text.ts";
import { usernameKey } from "../../users/username.ts";
import { type Banner, errorBanner, reasonText } from "./conversation_text.ts";
import { HistoryPager } from "./history_pager.ts";
import type { Translate } from "./i18n.ts";
import { type BookItem, MessageBook } from "./message_book.ts";
import { PairSignals } from "./pair_signals.ts";

/** The longest message the page lets a user send (the service's default MAX_MESSAGE_CHARS). */
export const MAX_MESSAGE_CHARS = DEFAULT_MAX_MESSAGE_CHARS;
/** How long after sending the page offers to recall a message (the service's RECALL_WINDOW). */
export const RECALL_WINDOW_MS = 2 * 60_000;
/** My typing counts as stopped after this long without a key. */
const MY_TYPING_IDLE_MS = 3_000;

/** What a conversation needs from the page. */
export interface ConversationOptions {
  readonly api: ChatApi;
  readonly baseUrl: string;
  readonly token: string;
  readonly me: string;
  readonly peer: string;
  readonly t: Translate;
  /** Whether the page is out of sight (unread messages count in the title, none is read). */
  readonly hidden: () => boolean;
  /** What the conversation list says the peer read of mine (`peer_read_upto`). */
  readonly peerReadUpto: () => number;
  /** The token is no longer valid (30002, or 401 from the API). */
  readonly onSessionEnded: () => void;
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
  readonly history: HistoryPager;
  readonly signals: PairSignals;
  readonly #options: ConversationOptions;
  readonly #t: Translate;
  readonly #client: ChatClient;
  readonly #meKey: string;
  readonly #peerKey: string;
  readonly #listeners = new Set<(scroll: ScrollIntent) => void>();
  #closed = false;
  // My messages not yet stored, by client id, so that an error naming an id finds its item.
  readonly #sending = new Map<string, BookItem>();
  #typingIdle: ReturnType<typeof setTimeout> | undefined;

  peerName: string;
  unread = 0;
  connection: StateEvent = { state: "connecting", attempt: 0, retryInMs: null, closeCode: null };
  presence: boolean | null = null;
  banner: Banner | null = null;
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
      v2: true,
    });
    this.signals = new PairSignals(() => this.#changed(null), options.peerReadUpto);
    this.history = new HistoryPager({
      api: options.api,
      token: options.token,
      peer: options.peer,
      t: options.t,
      add: (message) => this.#addFromHistory(message),
      count: () => this.book.size,
      read: (messages) => {
        this.#client.markSeen(messages.map((message) => message.messageId));
        this.#markRead();
      },
      release: (message) => this.#receive(message),
      changed: (page) => this.#changed(page === "first" ? "bottom" : page),
      sessionEnded: options.onSessionEnded,
      peerMissing: () => this.#peerIsMissing(),
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
    void this.history.loadOlder();
  }

  /** Stops listening and closes the socket. */
  close(): Promise<void> {
    this.#closed = true;
    this.history.close();
    this.signals.close();
    clearTimeout(this.#typingIdle);
    this.#listeners.clear();
    return this.#client.close();
  }

  /** Goes back to trying at once when the network is back. */
  reconnectNow(): void {
    this.#client.reconnectNow();
  }

  /** The page is in sight again: no unread messages in the title, and they count as read. */
  markRead(): void {
    this.unread = 0;
    this.#markRead();
    this.#changed(null);
  }

  /** The window's title: unread count, peer, app. */
  get title(): string {
    const prefix = this.unread > 0 ? `(${this.unread}) ` : "";
    return `${prefix}${this.peerName} · ${this.#t("appName")}`;
  }

  hideBanner(): void {
    this.banner = null;
    this.#changed(null);
  }

  /** Whether the page offers to recall `item`: mine, stored, recent and not recalled yet. */
  canRecall(item: BookItem): boolean {
    return item.mine && item.state === "stored" && !item.recalled &&
      Date.now() - item.arrivedAt < RECALL_WINDOW_MS;
  }

  /** Recalls my message `item`; a refusal puts a sentence above the conversation. */
  recall(item: BookItem): void {
    this.#client.recall(item.key).catch(() => {
      this.banner = { text: this.#t("errRecall"), kind: "message" };
      this.#changed(null);
    });
  }

  /** The composer's text changed: I am typing (or stopped, when it is empty). */
  typing(text: string): void {
    clearTimeout(this.#typingIdle);
    const typing = text.trim() !== "";
    this.#client.typing(typing);
    if (typing) this.#typingIdle = setTimeout(() => this.#client.typing(false), MY_TYPING_IDLE_MS);
  }

  #changed(scroll: ScrollIntent): void {
    if (this.#closed) return;
    this.history.refreshStatus();
    for (const listener of [...this.#listeners]) listener(scroll);
  }

  #markRead(): void {
    if (this.#options.hidden() || this.book.highestTheirs === 0) return;
    this.#client.read(this.book.highestTheirs);
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
    client.on("sent", (sent) => this.#sentElsewhere(sent));
    client.on("error", (event) => this.#onError(event));
    client.on("read", ({ messageId }) => this.signals.read(messageId));
    client.on("delivered", ({ messageId }) => this.signals.delivered(messageId));
    client.on("typing", ({ typing }) => this.signals.typing(typing));
    client.on("recalled", ({ messageId }) => {
      if (this.book.recall(messageId)) this.#changed(null);
    });
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
    this.#changed(null);
  }

  #learnPeerName(name: string): void {
    if (usernameKey(name) === this.#peerKey) this.peerName = name;
  }

  // --- sending ---

  /** Sends `text`; false when there is nothing to send or it is too long. */
  submit(text: string): boolean {
    if (this.peerMissing || text.trim() === "") return false;
    if (countCodePoints(text) > MAX_MESSAGE_CHARS) return false;
    this.typing("");
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

  // --- receiving ---

  #receive(message: ChatMessageView): void {
    if (this.#closed || this.history.holds(message)) return;
    if (this.book.has(message.messageId)) return;
    this.#learnPeerName(message.fromUser);
    const mine = usernameKey(message.fromUser) === this.#meKey;
    this.book.addStored(message.messageId, mine, message.msg, message.sendTime);
    if (!mine) this.signals.peerMessage();
    if (this.#options.hidden()) this.unread++;
    else this.#markRead();
    this.#changed("arrived");
  }

  /** 30013: a message I sent from another window or device. */
  #sentElsewhere(sent: SentElsewhere): void {
    if (this.#closed || this.book.has(sent.messageId)) return;
    this.book.addStored(sent.messageId, true, sent.msg, sent.sendTime);
    this.#changed("arrived");
  }

  #addFromHistory(message: HistoryMessage): void {
    const mine = usernameKey(message.fromUser) === this.#meKey;
    this.#learnPeerName(mine ? message.toUser : message.fromUser);
    this.book.addStored(message.messageId, mine, message.msg, message.sendTime, {
      recalled: message.recalled === true,
      fromHistory: true,
    });
  }
}
