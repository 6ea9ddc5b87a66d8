/// <reference lib="dom" />
/**
 * The open conversation with one peer: history (older pages on scroll up), live and waiting
 * messages through the chat client, presence, connection state, errors, and the composer.
 * Messages are kept in `message_id` order, each once; mine wait at the end until stored.
 *
 * Limits read as words: a message the service rate-limited (30005) says it will be resent; too
 * many sockets of this user (30006) puts a sentence above the conversation until a socket gets
 * in; a socket closed with 1013 (too slow, or a cluster node that lost Redis) says so in the
 * connection badge; a busy service (503)
 * or a rate limit (429) on the history says the page will try again, and does.
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
import { API_STATUS, CHAT_STATUS, CLOSE_CODE } from "../../protocol/status.ts";
import { countCodePoints } from "../../protocol/text.ts";
import { usernameKey } from "../../users/username.ts";
import { avatar, byId, el, show } from "./dom.ts";
import type { Translate } from "./i18n.ts";

/** The longest message the page lets a user send (the service's default MAX_MESSAGE_CHARS). */
export const MAX_MESSAGE_CHARS = DEFAULT_MAX_MESSAGE_CHARS;
const HISTORY_PAGE = 50;
// How close to an edge (px) counts as "at" it: load older near the top, follow near the bottom.
const EDGE_PX = 120;
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
  /** The token is no longer valid (30002, or 401 from the API). */
  readonly onSessionEnded: () => void;
  /** The peer does not exist (30003, or 404 from the API). */
  readonly onPeerMissing: (peer: string) => void;
  /** The service spells the peer's name this way. */
  readonly onPeerName: (name: string) => void;
}

interface Entry {
  readonly key: number;
  readonly item: HTMLLIElement;
  readonly date: string;
}

/** `YYYY-MM-DD` of a `send_time`, or of today (`daysAgo` days back) in the browser's time zone. */
function dateOf(sendTime: string | null, daysAgo = 0): string {
  if (sendTime !== null) return sendTime.slice(0, 10);
  const day = new Date();
  day.setDate(day.getDate() - daysAgo);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** One conversation, drawn into the page's conversation pane. */
export class Conversation {
  readonly #options: ConversationOptions;
  readonly #t: Translate;
  readonly #client: ChatClient;
  readonly #meKey: string;
  readonly #peerKey: string;
  readonly #selfChat: boolean;
  readonly #listeners = new AbortController();
  readonly #entries: Entry[] = [];
  readonly #byId = new Map<number, HTMLLIElement>();
  // undefined until the first page is read; null once there is nothing older.
  #nextBefore: number | null | undefined = undefined;
  #loadingOlder = false;
  // The lowest message_id read from history; older messages come with older pages.
  #oldestLoaded = Number.POSITIVE_INFINITY;
  // Messages from the socket that came before the first page of history, which decides
  // where they belong.
  #early: ChatMessageView[] | null = [];
  #closed = false;
  #unread = 0;
  #peerName: string;
  // My messages not yet stored, by client id, so that an error naming an id finds its bubble.
  readonly #sending = new Map<string, HTMLLIElement>();
  // What the banner shows: a connection problem goes away by itself once a socket gets in.
  #bannerKind: "connection" | "message" | null = null;
  #historyRetry: ReturnType<typeof setTimeout> | undefined;

  readonly #list = byId<HTMLOListElement>("message-list");
  readonly #scroller = byId("messages");
  readonly #historyStatus = byId("history-status");
  readonly #input = byId<HTMLTextAreaElement>("composer-input");
  readonly #sendButton = byId<HTMLButtonElement>("send-button");
  readonly #charCount = byId("char-count");
  readonly #banner = byId("banner");
  readonly #newMessages = byId<HTMLButtonElement>("new-messages");

  constructor(options: ConversationOptions) {
    this.#options = options;
    this.#t = options.t;
    this.#peerName = options.peer;
    this.#meKey = usernameKey(options.me);
    this.#peerKey = usernameKey(options.peer);
    this.#selfChat = this.#meKey === this.#peerKey;
    this.#client = new ChatClient({
      baseUrl: options.baseUrl,
      token: options.token,
      peer: options.peer,
      maxMessageChars: MAX_MESSAGE_CHARS,
    });
  }

  /** Draws the pane, opens the socket and reads the newest page of history. */
  start(): void {
    this.#list.replaceChildren();
    this.#input.value = "";
    this.#input.disabled = false;
    this.#resizeInput();
    this.#updateCount();
    show(this.#banner, false);
    show(this.#newMessages, false);
    this.#drawHeader();
    this.#wire();
    this.#client.connect();
    void this.#loadOlder();
    this.#input.focus();
  }

  /** Stops listening and closes the socket. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#historyRetry);
    this.#listeners.abort();
    return this.#client.close();
  }

  /** Goes back to trying at once when the network is back. */
  reconnectNow(): void {
    this.#client.reconnectNow();
  }

  /** Clears the unread count in the title. */
  markRead(): void {
    this.#unread = 0;
    this.#updateTitle();
  }

  // --- header, connection, presence, banner ---

  #drawHeader(): void {
    byId("peer-avatar").replaceChildren(avatar(this.#peerName));
    byId("peer-name").textContent = this.#peerName;
    this.#updateTitle();
    this.#showPresence(null);
    this.#showState({ state: "connecting", attempt: 0, retryInMs: null, closeCode: null });
  }

  #learnPeerName(name: string): void {
    if (name === this.#peerName || usernameKey(name) !== this.#peerKey) return;
    this.#peerName = name;
    byId("peer-name").textContent = name;
    byId("peer-avatar").replaceChildren(avatar(name));
    this.#updateTitle();
    this.#options.onPeerName(name);
  }

  #updateTitle(): void {
    const prefix = this.#unread > 0 ? `(${this.#unread}) ` : "";
    document.title = `${prefix}${this.#peerName} · ${this.#t("appName")}`;
  }

  #showState(event: StateEvent): void {
    const badge = byId("connection");
    const text = byId("connection-text");
    const t = this.#t;
    badge.dataset.state = event.state;
    // Closed with 1013 (too slow, or a cluster node without Redis): say so, and that nothing is lost.
    const later = event.state === "retrying" && event.closeCode === CLOSE_CODE.TRY_AGAIN_LATER;
    badge.title = later ? t("laterExplained") : "";
    if (event.state === "connecting") text.textContent = t("connecting");
    else if (event.state === "open") text.textContent = t("connected");
    else if (event.state === "closed") text.textContent = t("disconnected");
    else if ((event.retryInMs ?? 0) >= 1500) {
      const seconds = Math.round((event.retryInMs ?? 0) / 1000);
      text.textContent = t(later ? "retryingLater" : "retrying", { seconds });
    } else text.textContent = t(later ? "retryingLaterSoon" : "retryingSoon");
    show(byId("reconnect-button"), event.state === "retrying");
    if (event.state !== "open") this.#showPresence(null);
    // A socket got in: a sentence about being refused (30006) no longer holds. If this one is
    // refused too, its 30006 follows at once and puts the sentence back.
    if (event.state === "open" && this.#bannerKind === "connection") this.#hideBanner();
  }

  #showPresence(online: boolean | null): void {
    const status = byId("peer-status");
    if (this.#selfChat) {
      status.dataset.presence = "self";
      status.textContent = this.#t("notesToSelf");
      return;
    }
    status.dataset.presence = online === null ? "unknown" : online ? "online" : "offline";
    status.textContent = online === null ? "" : this.#t(online ? "online" : "offline");
  }

  #showBanner(text: string, kind: "connection" | "message" = "message"): void {
    byId("banner-text").textContent = text;
    this.#bannerKind = kind;
    show(this.#banner, true);
  }

  #hideBanner(): void {
    this.#bannerKind = null;
    show(this.#banner, false);
  }

  #onError(event: ChatErrorEvent): void {
    const t = this.#t;
    const { status, reason } = event;
    if (status === CHAT_STATUS.TOKEN_FAILED) this.#options.onSessionEnded();
    else if (status === CHAT_STATUS.TARGET_NOT_FOUND) this.#peerMissing();
    else if (status === CHAT_STATUS.INVALID_MESSAGE) {
      this.#showBanner(t("errInvalidMessage", { reason: this.#reason(reason ?? "") }));
    } else if (status === CHAT_STATUS.NOT_STORED) this.#showBanner(t("errNotStored"));
    else if (status === CHAT_STATUS.RATE_LIMITED) {
      // The client sends it again by itself; the bubble says so until it is stored.
      const item = event.id === null ? undefined : this.#sending.get(event.id);
      if (item !== undefined) this.#setItemState(item, "sending", { label: t("throttled") });
    } else if (status === CHAT_STATUS.TOO_MANY_CONNECTIONS) {
      this.#showBanner(
        event.limit === null
          ? t("errTooManyConnectionsAny")
          : t("errTooManyConnections", { limit: event.limit }),
        "connection",
      );
    }
  }

  #peerMissing(): void {
    this.#showBanner(this.#t("errPeerMissing", { name: this.#options.peer }));
    this.#input.disabled = true;
    this.#sendButton.disabled = true;
    this.#options.onPeerMissing(this.#options.peer);
  }

  /** A 30004 reason in the page's words, where it is one the page knows. */
  #reason(reason: string): string {
    const tooLong = /longer than (\d+) characters/.exec(reason);
    if (tooLong !== null) return this.#t("reasonTooLong", { max: tooLong[1] });
    if (reason === "msg is empty") return this.#t("reasonEmpty");
    return reason;
  }

  // --- events ---

  #wire(): void {
    const signal = this.#listeners.signal;
    const client = this.#client;
    client.on("state", (event) => {
      if (!this.#closed) this.#showState(event);
    });
    client.on("presence", ({ online }) => {
      if (!this.#closed) this.#showPresence(online);
    });
    client.on("message", (message) => {
      if (!this.#closed) this.#receive(message);
    });
    client.on("error", (event) => {
      if (!this.#closed) this.#onError(event);
    });
    byId("reconnect-button").addEventListener("click", () => client.reconnectNow(), { signal });
    byId("banner-close").addEventListener("click", () => this.#hideBanner(), { signal });
    this.#newMessages.addEventListener("click", () => this.#scrollToBottom(), { signal });
    this.#scroller.addEventListener("scroll", () => {
      if (this.#scroller.scrollTop < EDGE_PX) void this.#loadOlder();
      if (this.#nearBottom()) show(this.#newMessages, false);
    }, { signal, passive: true });
    this.#input.addEventListener("keydown", (event) => {
      // Enter sends; Shift+Enter is a new line; an Enter that ends an IME composition
      // (typing Chinese) only confirms the characters.
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
        return;
      }
      event.preventDefault();
      this.#submit();
    }, { signal });
    this.#input.addEventListener("input", () => {
      this.#resizeInput();
      this.#updateCount();
    }, { signal });
    byId("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submit();
    }, { signal });
  }

  #resizeInput(): void {
    this.#input.style.height = "auto";
    this.#input.style.height = `${Math.min(this.#input.scrollHeight, 160)}px`;
  }

  #updateCount(): void {
    const count = countCodePoints(this.#input.value);
    const near = count > MAX_MESSAGE_CHARS - 200;
    this.#charCount.textContent = near ? `${count} / ${MAX_MESSAGE_CHARS}` : "";
    this.#charCount.classList.toggle("over", count > MAX_MESSAGE_CHARS);
    this.#sendButton.disabled = this.#input.disabled || this.#input.value.trim() === "" ||
      count > MAX_MESSAGE_CHARS;
  }

  // --- sending ---

  #submit(): void {
    const text = this.#input.value;
    if (this.#input.disabled || text.trim() === "") return;
    if (countCodePoints(text) > MAX_MESSAGE_CHARS) return;
    this.#input.value = "";
    this.#resizeInput();
    this.#updateCount();
    const id = newClientId();
    const item = this.#item(true, text, null);
    this.#insert(Number.POSITIVE_INFINITY, item, null);
    this.#scrollToBottom();
    this.#deliver(id, text, item);
  }

  #deliver(id: string, text: string, item: HTMLLIElement): void {
    this.#setItemState(item, "sending");
    this.#sending.set(id, item);
    this.#client.send(text, { id }).then((stored) => {
      this.#sending.delete(id);
      if (this.#closed) return;
      this.#remove(item);
      // Already shown (a note to self read back from history, say): keep that one.
      if (this.#byId.has(stored.messageId)) return;
      this.#setItemState(item, "stored");
      this.#setTime(item, stored.sendTime);
      this.#byId.set(stored.messageId, item);
      item.dataset.messageId = String(stored.messageId);
      this.#insert(stored.messageId, item, stored.sendTime);
    }, (error: unknown) => {
      this.#sending.delete(id);
      if (this.#closed) return;
      const retryable = error instanceof SendError && error.retryable;
      const reason = error instanceof SendError && error.status === CHAT_STATUS.INVALID_MESSAGE
        ? this.#reason(error.message)
        : null;
      this.#setItemState(item, "failed", {
        reason,
        retry: retryable ? () => this.#deliver(id, text, item) : null,
      });
    });
  }

  // --- receiving and history ---

  #receive(message: ChatMessageView): void {
    if (this.#early !== null) {
      this.#early.push(message);
      return;
    }
    // A waiting message older than the loaded history is in an older page: showing it now
    // would put it among messages it does not belong with.
    if (typeof this.#nextBefore === "number" && message.messageId < this.#oldestLoaded) return;
    if (this.#byId.has(message.messageId)) return;
    this.#learnPeerName(message.fromUser);
    const follow = this.#nearBottom();
    this.#addMessage(message.messageId, message.fromUser, message.msg, message.sendTime);
    if (follow) this.#scrollToBottom();
    else show(this.#newMessages, true);
    if (document.hidden) {
      this.#unread++;
      this.#updateTitle();
    }
  }

  async #loadOlder(): Promise<void> {
    if (this.#loadingOlder || this.#nextBefore === null || this.#closed) return;
    this.#loadingOlder = true;
    const first = this.#nextBefore === undefined;
    this.#historyStatus.textContent = this.#t("loadingOlder");
    try {
      const page = await this.#options.api.history(this.#options.token, this.#options.peer, {
        limit: HISTORY_PAGE,
        before: this.#nextBefore,
      });
      if (this.#closed) return;
      const fromBottom = this.#scroller.scrollHeight - this.#scroller.scrollTop;
      for (const message of page.messages) {
        const mine = usernameKey(message.fromUser) === this.#meKey;
        this.#learnPeerName(mine ? message.toUser : message.fromUser);
        this.#addMessage(message.messageId, message.fromUser, message.msg, message.sendTime);
      }
      this.#client.markSeen(page.messages.map((message) => message.messageId));
      this.#nextBefore = page.nextBefore;
      const oldest = page.messages.at(-1);
      if (oldest !== undefined) this.#oldestLoaded = oldest.messageId;
      if (first) this.#scrollToBottom();
      else this.#scroller.scrollTop = this.#scroller.scrollHeight - fromBottom;
      this.#historyStatus.textContent = this.#entries.length === 0
        ? this.#t("noMessages")
        : this.#t(page.nextBefore === null ? "noOlder" : "scrollForOlder");
    } catch (error) {
      if (this.#closed) return;
      if (error instanceof RetryLaterError) {
        this.#historyStatus.textContent = this.#t("historyBusy");
        const wait = Math.min(
          Math.max(error.retryAfterMs, HISTORY_RETRY_MIN_MS),
          HISTORY_RETRY_MAX_MS,
        );
        clearTimeout(this.#historyRetry);
        this.#historyRetry = setTimeout(() => void this.#loadOlder(), wait);
      } else if (error instanceof ApiError && error.status === API_STATUS.TOKEN_FAILED) {
        this.#options.onSessionEnded();
      } else if (error instanceof ApiError && error.status === API_STATUS.NOT_FOUND) {
        this.#peerMissing();
      } else this.#historyStatus.textContent = this.#t("historyFailed");
    } finally {
      this.#loadingOlder = false;
      this.#releaseEarly();
    }
    // A short history may not fill the pane, and then no scroll event would ask for more.
    if (!this.#closed && this.#nextBefore && this.#scroller.scrollTop < EDGE_PX) {
      void this.#loadOlder();
    }
  }

  #releaseEarly(): void {
    const early = this.#early;
    this.#early = null;
    for (const message of early ?? []) this.#receive(message);
  }

  #addMessage(messageId: number, fromUser: string, msg: string, sendTime: string): void {
    if (this.#byId.has(messageId)) return;
    const mine = usernameKey(fromUser) === this.#meKey;
    const item = this.#item(mine, msg, sendTime);
    item.dataset.messageId = String(messageId);
    if (mine) this.#setItemState(item, "stored");
    this.#byId.set(messageId, item);
    this.#insert(messageId, item, sendTime);
  }

  // --- the list ---

  #item(mine: boolean, text: string, sendTime: string | null): HTMLLIElement {
    const item = el("li", { className: `msg ${mine ? "msg--mine" : "msg--theirs"}` }, [
      el("div", { className: "bubble" }, [el("p", { className: "text", text })]),
      el("div", { className: "meta" }, [el("time", { className: "time" })]),
    ]);
    this.#setTime(item, sendTime);
    return item;
  }

  #setTime(item: HTMLLIElement, sendTime: string | null): void {
    const time = item.querySelector("time")!;
    if (sendTime === null) {
      time.textContent = "";
      return;
    }
    time.textContent = sendTime.slice(11, 16);
    time.dateTime = sendTime.replace(" ", "T");
    time.title = sendTime;
  }

  /**
   * Shows a message's state under it: `label` replaces the state's own word (e.g. why it is
   * still sending), `reason` says why it failed, `retry` adds a retry button.
   */
  #setItemState(
    item: HTMLLIElement,
    state: "sending" | "stored" | "failed",
    options: {
      readonly label?: string;
      readonly reason?: string | null;
      readonly retry?: (() => void) | null;
    } = {},
  ): void {
    const { reason = null, retry = null } = options;
    item.dataset.state = state;
    const meta = item.querySelector(".meta")!;
    meta.querySelector(".state")?.remove();
    meta.querySelector(".retry")?.remove();
    const label = options.label ??
      (state === "failed" && reason !== null ? `${this.#t("failed")}：${reason}` : this.#t(state));
    meta.append(el("span", { className: "state", text: label }));
    if (retry !== null) {
      const button = el("button", {
        className: "retry",
        text: this.#t("retry"),
        attrs: { type: "button" },
      });
      button.addEventListener("click", retry, { once: true });
      meta.append(button);
    }
  }

  /** Puts `item` in `key` order (pending messages, key +∞, stay last in the order sent). */
  #insert(key: number, item: HTMLLIElement, sendTime: string | null): void {
    let low = 0;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.#entries[middle].key <= key) low = middle + 1;
      else high = middle;
    }
    const entry = { key, item, date: dateOf(sendTime) };
    this.#entries.splice(low, 0, entry);
    this.#list.insertBefore(item, this.#entries[low + 1]?.item ?? null);
    this.#drawDays();
    if (this.#historyStatus.textContent === this.#t("noMessages")) {
      this.#historyStatus.textContent = this.#t("noOlder");
    }
  }

  #remove(item: HTMLLIElement): void {
    const index = this.#entries.findIndex((entry) => entry.item === item);
    if (index >= 0) this.#entries.splice(index, 1);
    item.remove();
  }

  /** A date line before the first message of each day. */
  #drawDays(): void {
    for (const line of this.#list.querySelectorAll(".day")) line.remove();
    const today = dateOf(null);
    const yesterday = dateOf(null, 1);
    let previous = "";
    for (const entry of this.#entries) {
      if (entry.date === previous) continue;
      previous = entry.date;
      const label = entry.date === today
        ? this.#t("today")
        : entry.date === yesterday
        ? this.#t("yesterday")
        : entry.date;
      const line = el("li", { className: "day", attrs: { role: "separator" } }, [
        el("span", { text: label }),
      ]);
      this.#list.insertBefore(line, entry.item);
    }
  }

  #nearBottom(): boolean {
    const scroller = this.#scroller;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < EDGE_PX;
  }

  #scrollToBottom(): void {
    this.#scroller.scrollTop = this.#scroller.scrollHeight;
    show(this.#newMessages, false);
  }
}
