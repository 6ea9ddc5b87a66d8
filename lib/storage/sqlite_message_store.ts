/**
 * How the SQLite repository stores one message inside its group commit's transaction: the insert
 * (a stored client id of the same sender and receiver skips it and answers with the stored
 * message), the message's webhook events with it, and the count of what waits for a receiver.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { MESSAGE_COLUMNS, MESSAGE_JOINS, type MessageRow, toMessage } from "./message_row.ts";
import type { SqliteAppTables } from "./sqlite_app_tables.ts";
import type { MessageStore } from "./sqlite_quota.ts";
import type { NewMessage, SaveResult } from "./repository.ts";

/** The message statements, prepared once. */
export class SqliteMessageStore implements MessageStore {
  readonly #app: SqliteAppTables;
  readonly #insert: StatementSync;
  readonly #selectByClientId: StatementSync;
  readonly #countWaiting: StatementSync;

  constructor(db: DatabaseSync, app: SqliteAppTables) {
    this.#app = app;
    this.#insert = db.prepare(
      `INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at, client_id)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (from_user_id, to_user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
       RETURNING id`,
    );
    this.#selectByClientId = db.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
       WHERE m.from_user_id = ? AND m.to_user_id = ? AND m.client_id = ?`,
    );
    // What `waitingMessages` returns (not yet delivered), counted no further than the limit.
    this.#countWaiting = db.prepare(
      `SELECT count(*) AS n FROM (SELECT 1 FROM messages
         WHERE to_user_id = ? AND from_user_id = ? AND delivered = 0 LIMIT ?)`,
    );
  }

  store(message: NewMessage): SaveResult {
    const { from, to, msg, sendTime } = message;
    const inserted = this.#insert.get(
      from.id,
      to.id,
      msg,
      sendTime,
      message.sentAt,
      message.clientId,
    ) as { id: number } | undefined;
    if (inserted === undefined) {
      // Only a client id conflict skips the insert: answer with what was stored under it.
      const stored = this.duplicateOf(message);
      if (stored === null) throw new Error("Message insert returned no row");
      return stored;
    }
    // The message's webhook events commit with it, or neither does.
    if (message.events !== undefined && message.events.length > 0) {
      this.#app.insertMessageEvents(message.events, {
        id: inserted.id,
        fromUserId: from.id,
        toUserId: to.id,
        at: message.sentAt,
      });
    }
    return {
      duplicate: false,
      message: {
        messageId: inserted.id,
        fromUser: from.username,
        toUser: to.username,
        msg,
        sendTime,
      },
    };
  }

  duplicateOf(message: NewMessage): SaveResult | null {
    if (message.clientId === null) return null;
    const row = this.#selectByClientId.get(message.from.id, message.to.id, message.clientId) as
      | MessageRow
      | undefined;
    return row === undefined ? null : { duplicate: true, message: toMessage(row) };
  }

  countWaiting(toUserId: number, fromUserId: number, limit: number): number {
    return (this.#countWaiting.get(toUserId, fromUserId, limit) as { n: number }).n;
  }
}
