/**
 * My conversations, as the side bar lists them, without the DOM: the list read from the service
 * (`GET /v1/conversations`), kept live by the inbox socket (30021: a message from anyone, one I
 * sent from any device, my read marker moved on any device, a recall; 30022: presence), most
 * recent activity first. After the socket drops and opens again the list is read again, since
 * changes meanwhile were not pushed. Holding the inbox socket counts as online for my peers.
 *
 * The inbox socket counts against `MAX_CONNECTIONS_PER_USER` too. Refused (30006), it closes and
 * tries again only after `REFUSED_RETRY_MS`, so that it never takes the slot a conversation's
 * socket is waiting for: the conversation matters more than the live list.
 */
import { ApiError, type ChatApi, type ConversationItem } from "../../client/chat_api.ts";
import {
  type ConversationUpdate,
  InboxClient,
  type PresenceChange,
} from "../../client/inbox_client.ts";
import type { HistoryMessage } from "../../protocol/history_item.ts";
import { API_STATUS } from "../../protocol/status.ts";
import { usernameKey } from "../../users/username.ts";

/** One conversation in the list. */
export interface InboxEntry {
  readonly peer: string;
  readonly unread: number;
  readonly lastMessage: HistoryMessage | null;
  readonly online: boolean;
  readonly lastSeen: string | null;
  /** The highest id of my messages the peer has read (0 if none). */
  readonly peerReadUpto: number;
}

/** What the inbox needs from the page. */
export interface InboxOptions {
  readonly api: ChatApi;
  readonly baseUrl: string;
  readonly token: string;
  /** The token is no longer valid (30002, or 401 from the API). */
  readonly onSessionEnded: () => void;
}

/** How many conversations the list reads. */
const LIST_LIMIT = 100;
/** The wait before reading the list again after it failed. */
const RETRY_MS = 3_000;
/** The wait before opening the inbox socket again after it was refused (30006). */
export const REFUSED_RETRY_MS = 30_000;

/** The live list; see the module documentation. */
export class Inbox {
  readonly #options: InboxOptions;
  #client: InboxClient;
  readonly #listeners = new Set<() => void>();
  readonly #byPeer = new Map<string, InboxEntry>();
  #opened = false;
  #closed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #reopen: ReturnType<typeof setTimeout> | undefined;
  #loadPending = false;
  /** False until the list was read once. */
  loaded = false;
  /** The last read of the list failed (it is tried again). */
  failed = false;

  constructor(options: InboxOptions) {
    this.#options = options;
    this.#client = this.#newClient();
  }

  #newClient(): InboxClient {
    const client = new InboxClient({ baseUrl: this.#options.baseUrl, token: this.#options.token });
    client.on("conversation", (update) => this.#updated(update));
    client.on("presence", (change) => this.#presence(change));
    client.on("error", ({ fatal }) => {
      if (fatal) this.#options.onSessionEnded();
      else this.#refused(client);
    });
    client.on("state", ({ state }) => {
      if (state !== "open") return;
      // Changes while the socket was down were not pushed: read the list again.
      if (this.#opened) void this.#load();
      this.#opened = true;
    });
    return client;
  }

  /** 30006: give the slot up for a while (see the module documentation). */
  #refused(client: InboxClient): void {
    void client.close();
    clearTimeout(this.#reopen);
    this.#reopen = setTimeout(() => {
      if (this.#closed) return;
      this.#client = this.#newClient();
      this.#client.connect();
    }, REFUSED_RETRY_MS);
  }

  /** Calls `listener` after each change; returns a function that stops it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Opens the inbox socket and reads the list. */
  start(): void {
    this.#client.connect();
    void this.#load();
  }

  /** Closes the socket. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#reopen);
    this.#listeners.clear();
    return this.#client.close();
  }

  /** Goes back to trying at once when the network is back. */
  reconnectNow(): void {
    this.#client.reconnectNow();
  }

  /** The conversations, most recent activity first. */
  get entries(): InboxEntry[] {
    return [...this.#byPeer.values()].sort((a, b) =>
      (b.lastMessage?.messageId ?? 0) - (a.lastMessage?.messageId ?? 0)
    );
  }

  /** The conversation with `peer`, if there is one. */
  entry(peer: string): InboxEntry | undefined {
    return this.#byPeer.get(usernameKey(peer));
  }

  #changed(): void {
    if (this.#closed) return;
    for (const listener of [...this.#listeners]) listener();
  }

  async #load(): Promise<void> {
    clearTimeout(this.#retry);
    try {
      const page = await this.#options.api.conversations(this.#options.token, {
        limit: LIST_LIMIT,
      });
      if (this.#closed) return;
      for (const item of page.conversations) this.#put(item);
      this.loaded = true;
      this.failed = false;
    } catch (error) {
      if (this.#closed) return;
      if (error instanceof ApiError && error.status === API_STATUS.TOKEN_FAILED) {
        this.#options.onSessionEnded();
        return;
      }
      this.failed = true;
      this.#retry = setTimeout(() => void this.#load(), RETRY_MS);
    }
    this.#changed();
  }

  /** Reads the list once more soon; several calls in a row read it once. */
  #loadSoon(): void {
    if (this.#loadPending) return;
    this.#loadPending = true;
    setTimeout(() => {
      this.#loadPending = false;
      if (!this.#closed) void this.#load();
    }, 0);
  }

  #put(item: ConversationItem): void {
    this.#byPeer.set(usernameKey(item.peer), { ...item });
  }

  #updated(update: ConversationUpdate): void {
    const key = usernameKey(update.peer);
    const known = this.#byPeer.get(key);
    // Someone new: a 30022 comes only when their presence changes, so read the list for it.
    if (known === undefined) this.#loadSoon();
    // A push older than what the list holds (the list was read after it was sent) changes nothing.
    const knownId = known?.lastMessage?.messageId ?? 0;
    const pushedId = update.lastMessage?.messageId ?? 0;
    const lastMessage = pushedId >= knownId ? update.lastMessage : known?.lastMessage ?? null;
    this.#byPeer.set(key, {
      peer: update.peer,
      unread: update.unread,
      lastMessage,
      online: known?.online ?? false,
      lastSeen: known?.lastSeen ?? null,
      peerReadUpto: known?.peerReadUpto ?? 0,
    });
    this.#changed();
  }

  #presence(change: PresenceChange): void {
    const key = usernameKey(change.user);
    const known = this.#byPeer.get(key);
    if (known === undefined) return;
    this.#byPeer.set(key, { ...known, online: change.online, lastSeen: change.lastSeen });
    this.#changed();
  }
}
