/**
 * Storage quotas: what one user may store. Per UTC day, a number of messages and of bytes (the
 * UTF-8 of `msg`) over every receiver; and, per receiver, a number of messages waiting for them
 * (stored, not yet delivered). A message over a quota is not stored, and the caller is told
 * which quota and when it may try again.
 *
 * The repository checks and charges the quotas in the transaction that stores the messages, so
 * they hold however many sockets and nodes a user sends from. A resend of a stored client id is
 * never charged nor refused: it stores nothing. `QuotaLedger` is the engine-neutral accounting
 * of one batch; SQLite runs it inside its group commit, PostgreSQL does the same in SQL
 * (`postgres_quota.ts`) and reads the verdict with `refusalFor`.
 */
import { utf8Length } from "../protocol/text.ts";
import type { NewMessage } from "./repository.ts";

/** One day in ms: the daily quotas count per UTC day. */
export const DAY_MS = 86_400_000;

/** What one user may store; 0 turns that quota off. */
export interface StorageQuota {
  /** Messages a user may store per UTC day, to all receivers. */
  readonly dailyMessages: number;
  /** Bytes of `msg` (UTF-8) a user may store per UTC day, to all receivers. */
  readonly dailyBytes: number;
  /** Messages from one sender that may wait for one receiver (stored, not yet delivered). */
  readonly waitingMessages: number;
}

/** Which quota a message was over. */
export type QuotaName = "daily_messages" | "daily_bytes" | "waiting";

/** Why a message was not stored, for the answer to its sender. */
export interface QuotaRefusal {
  readonly quota: QuotaName;
  /** The quota's setting. */
  readonly limit: number;
  /** For a daily quota: ms until the next UTC day starts; `null` for the waiting quota. */
  readonly retryAfterMs: number | null;
}

/** What a user stored on one UTC day (`day` = days since the epoch). */
export interface DailyUsage {
  readonly day: number;
  readonly messages: number;
  readonly bytes: number;
}

/** Where the ledger reads what is stored already, inside the caller's transaction. */
export interface QuotaSource {
  /** The user's stored usage row; `null` when the user never stored a message. */
  usage(userId: number): DailyUsage | null;
  /** How many messages from `fromUserId` wait for `toUserId`, counted up to `limit`. */
  waiting(toUserId: number, fromUserId: number, limit: number): number;
}

/** The UTC day of a time in ms. */
export function dayOf(at: number): number {
  return Math.floor(at / DAY_MS);
}

/** The size a message counts for: the UTF-8 bytes of its text. */
export function messageBytes(message: Pick<NewMessage, "msg">): number {
  return utf8Length(message.msg);
}

/** Whether any quota is on. */
export function quotaIsOn(quota: StorageQuota): boolean {
  return quota.dailyMessages > 0 || quota.dailyBytes > 0 || quota.waitingMessages > 0;
}

/** The usage that counts for a message sent on `day`: a newer day starts at 0. */
export function usageOn(stored: DailyUsage | null, day: number): DailyUsage {
  // A stored day ahead of this one (another node's clock): count into it rather than reset.
  if (stored === null || stored.day < day) return { day, messages: 0, bytes: 0 };
  return stored;
}

/**
 * Which quota a message of `bytes`, sent at `sentAt`, is over, given what its sender stored that
 * day and how many of its messages wait for the receiver; `null` when it fits.
 */
export function refusalFor(
  quota: StorageQuota,
  usage: DailyUsage,
  waiting: number,
  bytes: number,
  sentAt: number,
): QuotaRefusal | null {
  const { dailyMessages, dailyBytes, waitingMessages } = quota;
  // The daily quotas first: when one is full, nothing the receiver does helps before tomorrow.
  const retryAfterMs = Math.max(1, (usage.day + 1) * DAY_MS - sentAt);
  if (dailyMessages > 0 && usage.messages + 1 > dailyMessages) {
    return { quota: "daily_messages", limit: dailyMessages, retryAfterMs };
  }
  if (dailyBytes > 0 && usage.bytes + bytes > dailyBytes) {
    return { quota: "daily_bytes", limit: dailyBytes, retryAfterMs };
  }
  if (waitingMessages > 0 && waiting >= waitingMessages) {
    return { quota: "waiting", limit: waitingMessages, retryAfterMs: null };
  }
  return null;
}

/**
 * The accounting of one batch inside its transaction: `check` says whether the next message
 * fits (counting those charged before it in the batch), `charge` counts a stored one, and
 * `changes` lists the usage rows to write back before the commit.
 */
export class QuotaLedger {
  readonly #quota: StorageQuota;
  readonly #source: QuotaSource;
  readonly #usage = new Map<number, DailyUsage>(); // By sender, as of the batch so far.
  readonly #waiting = new Map<string, number>();
  readonly #charged = new Set<number>();

  constructor(quota: StorageQuota, source: QuotaSource) {
    this.#quota = quota;
    this.#source = source;
  }

  /** The quota `message` is over, or `null` when it fits. */
  check(message: NewMessage): QuotaRefusal | null {
    const { from, to, sentAt } = message;
    return refusalFor(
      this.#quota,
      this.#usageOf(from.id, dayOf(sentAt)),
      this.#waitingOf(to.id, from.id),
      messageBytes(message),
      sentAt,
    );
  }

  /** Counts a stored message against its sender's quotas. */
  charge(message: NewMessage): void {
    const { from, to } = message;
    const usage = this.#usageOf(from.id, dayOf(message.sentAt));
    this.#usage.set(from.id, {
      day: usage.day,
      messages: usage.messages + 1,
      bytes: usage.bytes + messageBytes(message),
    });
    this.#charged.add(from.id);
    const pair = `${to.id}<${from.id}`;
    this.#waiting.set(pair, this.#waitingOf(to.id, from.id) + 1);
  }

  /**
   * Whether all of `messages`, charged in order as if every one were new, fit; charges nothing.
   * When they do, so do they with any of them a duplicate (which is never charged). Counted per
   * sender and pair at once; a sender's batch across a UTC midnight is not tried (`false`).
   */
  fitsAll(messages: readonly NewMessage[]): boolean {
    const senders = new Map<number, { day: number; messages: number; bytes: number }>();
    const pairs = new Map<string, { toId: number; fromId: number; messages: number }>();
    for (const message of messages) {
      const { from, to } = message;
      const day = dayOf(message.sentAt);
      const sender = senders.get(from.id) ?? { day, messages: 0, bytes: 0 };
      if (sender.day !== day) return false;
      sender.messages++;
      sender.bytes += messageBytes(message);
      senders.set(from.id, sender);
      const key = `${to.id}<${from.id}`;
      const pair = pairs.get(key) ?? { toId: to.id, fromId: from.id, messages: 0 };
      pair.messages++;
      pairs.set(key, pair);
    }
    const { dailyMessages, dailyBytes, waitingMessages } = this.#quota;
    for (const [userId, batch] of senders) {
      const usage = this.#usageOf(userId, batch.day);
      if (dailyMessages > 0 && usage.messages + batch.messages > dailyMessages) return false;
      if (dailyBytes > 0 && usage.bytes + batch.bytes > dailyBytes) return false;
    }
    if (waitingMessages === 0) return true;
    for (const { toId, fromId, messages } of pairs.values()) {
      if (this.#waitingOf(toId, fromId) + messages > waitingMessages) return false;
    }
    return true;
  }

  /** The usage of every sender charged in this batch, to store. */
  changes(): [userId: number, usage: DailyUsage][] {
    return [...this.#charged].map((userId) => [userId, this.#usage.get(userId)!]);
  }

  #usageOf(userId: number, day: number): DailyUsage {
    const known = this.#usage.has(userId) ? this.#usage.get(userId)! : this.#source.usage(userId);
    const current = usageOn(known, day);
    this.#usage.set(userId, current);
    return current;
  }

  #waitingOf(toUserId: number, fromUserId: number): number {
    const limit = this.#quota.waitingMessages;
    if (limit === 0) return 0;
    const pair = `${toUserId}<${fromUserId}`;
    let count = this.#waiting.get(pair);
    if (count === undefined) {
      count = this.#source.waiting(toUserId, fromUserId, limit);
      this.#waiting.set(pair, count);
    }
    return count;
  }
}
