/**
 * The messages of an open conversation, kept in `message_id` order, each once; mine that are
 * not stored yet wait at the end (key +∞) in the order sent. It holds no DOM: the view draws it.
 */

/** The state of one of my messages: on its way, stored, or not sent. */
export type ItemState = "sending" | "stored" | "failed";

/** One message as the page shows it. */
export interface BookItem {
  /** Stable for the life of the item, for the view's keys. */
  readonly uid: number;
  /** The `message_id`, or +∞ while mine is not stored. */
  key: number;
  readonly mine: boolean;
  /** The text; "" once recalled. */
  text: string;
  /** The sender recalled it: its text is gone. */
  recalled: boolean;
  sendTime: string | null;
  /** When this page got it (ms), or when it was sent, for history: how recent it is. */
  readonly arrivedAt: number;
  /** Mine only: sending, stored or failed; null for the peer's. */
  state: ItemState | null;
  /** Replaces the state's own word (why it is still sending, why it failed). */
  label: string | null;
  /** Sends a failed message again, when that may work. */
  retry: (() => void) | null;
}

/** The ordered messages; see the module documentation. */
export class MessageBook {
  readonly #items: BookItem[] = [];
  readonly #byId = new Map<number, BookItem>();
  #nextUid = 1;
  #highestTheirs = 0;

  /** The messages in order, oldest first. */
  get items(): readonly BookItem[] {
    return this.#items;
  }

  get size(): number {
    return this.#items.length;
  }

  has(messageId: number): boolean {
    return this.#byId.has(messageId);
  }

  /** The highest `message_id` of the peer's messages shown (0: none). */
  get highestTheirs(): number {
    return this.#highestTheirs;
  }

  /** A new item of mine, not yet stored, at the end. */
  addPending(text: string): BookItem {
    const item: BookItem = {
      uid: this.#nextUid++,
      key: Number.POSITIVE_INFINITY,
      mine: true,
      text,
      recalled: false,
      sendTime: null,
      arrivedAt: Date.now(),
      state: "sending",
      label: null,
      retry: null,
    };
    this.#insert(item);
    return item;
  }

  /**
   * A stored message, in its place; false when it is already there. `fromHistory` dates it by
   * its `send_time` (in the browser's zone) rather than by now.
   */
  addStored(
    messageId: number,
    mine: boolean,
    text: string,
    sendTime: string,
    options: { readonly recalled?: boolean; readonly fromHistory?: boolean } = {},
  ): boolean {
    if (this.#byId.has(messageId)) return false;
    if (!mine) this.#highestTheirs = Math.max(this.#highestTheirs, messageId);
    const arrivedAt = options.fromHistory === true
      ? new Date(sendTime.replace(" ", "T")).getTime()
      : Date.now();
    const item: BookItem = {
      uid: this.#nextUid++,
      key: messageId,
      mine,
      text: options.recalled === true ? "" : text,
      recalled: options.recalled === true,
      sendTime,
      arrivedAt,
      state: mine ? "stored" : null,
      label: null,
      retry: null,
    };
    this.#byId.set(messageId, item);
    this.#insert(item);
    return true;
  }

  /** A pending item of mine got its `message_id`: it moves to its place (or goes, if shown). */
  stored(item: BookItem, messageId: number, sendTime: string): void {
    this.#remove(item);
    if (this.#byId.has(messageId)) return;
    item.key = messageId;
    item.sendTime = sendTime;
    item.state = "stored";
    item.label = null;
    item.retry = null;
    this.#byId.set(messageId, item);
    this.#insert(item);
  }

  /** The sender recalled `messageId`: its text goes; false when it is not shown. */
  recall(messageId: number): boolean {
    const item = this.#byId.get(messageId);
    if (item === undefined) return false;
    item.text = "";
    item.recalled = true;
    item.retry = null;
    return true;
  }

  #insert(item: BookItem): void {
    let low = 0;
    let high = this.#items.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.#items[middle].key <= item.key) low = middle + 1;
      else high = middle;
    }
    this.#items.splice(low, 0, item);
  }

  #remove(item: BookItem): void {
    const index = this.#items.indexOf(item);
    if (index >= 0) this.#items.splice(index, 1);
  }
}
