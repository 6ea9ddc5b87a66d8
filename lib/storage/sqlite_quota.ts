/**
 * Storage quotas on SQLite (`quota.ts`): a batch that fits whole even if none of it were a resend
 * (the usual case) is stored at once; otherwise message by message inside the group commit's
 * transaction, each checked against its sender's quotas first. Either way the usage rows
 * the batch changed are written back before the commit. A batch costs one usage read per sender
 * and one waiting count per pair, then one usage write per sender; a message at a quota costs one
 * look-up by client id more (a resend of a stored id is never refused).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type DailyUsage, QuotaLedger, type StorageQuota } from "./quota.ts";
import type { NewMessage, SaveOutcome, SaveResult } from "./repository.ts";

/** How a message is stored, or found as a duplicate, by the repository. */
export interface MessageStore {
  /** Stores the message (or finds it stored under its client id). */
  store(message: NewMessage): SaveResult;
  /** Stores messages in order, at once; a stored client id is answered as a duplicate. */
  storeInOrder(messages: readonly NewMessage[]): SaveResult[];
  /** The stored message with the same sender, receiver and client id; `null` when none. */
  duplicateOf(message: NewMessage): SaveResult | null;
  /** How many messages from `fromUserId` wait for `toUserId`, counted up to `limit`. */
  countWaiting(toUserId: number, fromUserId: number, limit: number): number;
}

/** The quota table's statements, prepared once. */
export class SqliteQuota {
  readonly #selectUsage: StatementSync;
  readonly #upsertUsage: StatementSync;

  constructor(db: DatabaseSync) {
    this.#selectUsage = db.prepare(
      `SELECT day, messages, bytes FROM message_quota WHERE user_id = ?`,
    );
    this.#upsertUsage = db.prepare(
      `INSERT INTO message_quota (user_id, day, messages, bytes) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE
         SET day = excluded.day, messages = excluded.messages, bytes = excluded.bytes`,
    );
  }

  /**
   * Stores `messages` in order within `quota`, inside the caller's transaction. From the first
   * message over a quota on, none is stored (a duplicate is still found as one).
   */
  save(messages: readonly NewMessage[], quota: StorageQuota, store: MessageStore): SaveOutcome[] {
    const ledger = new QuotaLedger(quota, {
      usage: (userId) => (this.#selectUsage.get(userId) as DailyUsage | undefined) ?? null,
      waiting: (toUserId, fromUserId, limit) => store.countWaiting(toUserId, fromUserId, limit),
    });
    // Far from every quota (the usual case): the batch is stored as a whole, at once.
    if (ledger.fitsAll(messages)) return this.#saveWhole(messages, ledger, store);
    const outcomes: SaveOutcome[] = [];
    let refused: SaveOutcome | null = null;
    // Messages without a client id are never duplicates: charged at once, stored together.
    let run: NewMessage[] = [];
    const storeRun = () => {
      if (run.length > 0) outcomes.push(...store.storeInOrder(run));
      run = [];
    };
    for (const message of messages) {
      const over: SaveOutcome | null = refused ?? this.#over(ledger, message);
      if (over === null && message.clientId === null) {
        ledger.charge(message);
        run.push(message);
        continue;
      }
      storeRun();
      if (over !== null) {
        const duplicate = store.duplicateOf(message);
        // Refused: so is everything after it in the batch, which must not overtake it.
        if (duplicate === null) refused = over;
        outcomes.push(duplicate ?? over);
        continue;
      }
      const saved = store.store(message);
      if (!saved.duplicate) ledger.charge(message);
      outcomes.push(saved);
    }
    storeRun();
    this.#writeUsage(ledger);
    return outcomes;
  }

  /** Stores a batch that fits whole; charges what was new (not a resend of a stored id). */
  #saveWhole(messages: readonly NewMessage[], ledger: QuotaLedger, store: MessageStore) {
    const outcomes = store.storeInOrder(messages);
    outcomes.forEach((outcome, i) => {
      if (!outcome.duplicate) ledger.charge(messages[i]);
    });
    this.#writeUsage(ledger);
    return outcomes;
  }

  #writeUsage(ledger: QuotaLedger): void {
    for (const [userId, usage] of ledger.changes()) {
      this.#upsertUsage.run(userId, usage.day, usage.messages, usage.bytes);
    }
  }

  #over(ledger: QuotaLedger, message: NewMessage): SaveOutcome | null {
    const refusal = ledger.check(message);
    return refusal === null ? null : { refused: refusal };
  }
}
