/**
 * Recall on SQLite, inside the group commit's transaction: the message's text is overwritten
 * with "" (the search index's trigger takes it out of the index with FTS5's secure-delete, and
 * `PRAGMA secure_delete` zeroes the old bytes in the file), it is marked recalled and no longer
 * waiting, and its pending webhook events go.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { MESSAGE_COLUMNS, MESSAGE_JOINS, type MessageRow, toMessage } from "./message_row.ts";
import type { RecallOutcome, RecallRequest } from "./repository.ts";

/** The message's owner and state, read before deciding. */
interface Target {
  from_user_id: number;
  to_user_id: number;
  sent_at: number;
  recalled_at: number | null;
}

/** The recall statements, prepared once. */
export class SqliteRecall {
  readonly #target: StatementSync;
  readonly #erase: StatementSync;
  readonly #dropEvents: StatementSync;
  readonly #select: StatementSync;

  constructor(db: DatabaseSync) {
    this.#target = db.prepare(
      `SELECT from_user_id, to_user_id, sent_at, recalled_at FROM messages WHERE id = ?`,
    );
    this.#erase = db.prepare(
      `UPDATE messages SET msg = '', recalled_at = ?, delivered = 1 WHERE id = ?`,
    );
    this.#dropEvents = db.prepare(
      `DELETE FROM webhook_events WHERE message_id = ? AND state = 'pending'`,
    );
    this.#select = db.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS} WHERE m.id = ?`,
    );
  }

  /** Recalls within the request's bounds; see `Repository.recallMessage`. */
  recall(request: RecallRequest): RecallOutcome {
    const target = this.#target.get(request.messageId) as Target | undefined;
    if (
      target === undefined || target.from_user_id !== request.senderId ||
      (request.toUserId !== undefined && target.to_user_id !== request.toUserId)
    ) {
      return { kind: "refused", reason: "not_yours" };
    }
    const already = target.recalled_at !== null;
    if (!already && target.sent_at < request.notBefore) {
      return { kind: "refused", reason: "too_late" };
    }
    if (!already) {
      this.#erase.run(request.at, request.messageId);
      this.#dropEvents.run(request.messageId);
    }
    const row = this.#select.get(request.messageId) as unknown as MessageRow;
    return {
      kind: "recalled",
      message: toMessage(row),
      fromUserId: target.from_user_id,
      toUserId: target.to_user_id,
      already,
    };
  }
}
