/**
 * How the SQLite repository stores messages inside its group commit's transaction: the insert
 * (a stored client id of the same sender and receiver skips it and answers with the stored
 * message), the message's webhook events with it, and the count of what waits for a receiver.
 * A batch goes in multi-row `INSERT`s of up to 64 rows (one statement, and one update of the id
 * sequence, for the lot); a client id stored before is skipped by the insert (`DO NOTHING`) and
 * answered with the stored message.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { MESSAGE_COLUMNS, MESSAGE_JOINS, type MessageRow, toMessage } from "./message_row.ts";
import type { SqliteAppTables } from "./sqlite_app_tables.ts";
import type { MessageStore } from "./sqlite_quota.ts";
import type { NewMessage, SaveResult } from "./repository.ts";
import { SqliteConversationTally } from "./sqlite_conversation_tally.ts";

/** Hears of inserted messages (in the transaction that inserts them). */
export interface InsertListener {
  inserted(count: number): void;
}

/** What a multi-row insert returns of each row it inserted. */
interface InsertedRow {
  id: number;
  from_user_id: number;
  to_user_id: number;
  client_id: string | null;
}

/** A client id's key: unique per sender and receiver. */
function idKey(fromId: number, toId: number, clientId: string): string {
  return `${fromId}>${toId}>${clientId}`;
}

/** Rows of one multi-row insert at most. */
const MAX_ROWS = 64;
const ON_CONFLICT_RETURNING =
  `ON CONFLICT (from_user_id, to_user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
   RETURNING id, from_user_id, to_user_id, client_id`;
const INSERT_COLUMNS =
  "INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at, client_id) VALUES ";

/** The message statements, prepared once. */
export class SqliteMessageStore implements MessageStore {
  readonly #db: DatabaseSync;
  readonly #app: SqliteAppTables;
  readonly #listener: InsertListener;
  readonly #conversations: SqliteConversationTally;
  // Multi-row inserts by row count, prepared when first needed.
  readonly #insertRows = new Map<number, StatementSync>();
  readonly #selectByClientId: StatementSync;
  readonly #countWaiting: StatementSync;

  /** `listener` hears of every insert (the search indexer). */
  constructor(db: DatabaseSync, app: SqliteAppTables, listener: InsertListener) {
    this.#db = db;
    this.#app = app;
    this.#listener = listener;
    this.#conversations = new SqliteConversationTally(db);
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

  /**
   * Runs `work`, which stores messages through this store inside the caller's transaction, and
   * then updates the conversations of what it stored. Every save goes through it.
   */
  saving<T>(work: () => T): T {
    return this.#conversations.during(work);
  }

  /**
   * Stores `messages` in order, up to 64 in one multi-row insert; a message whose client id is
   * stored already (before, or earlier in the same batch) is skipped by the insert and answered
   * with the stored one.
   */
  storeInOrder(messages: readonly NewMessage[]): SaveResult[] {
    const results: SaveResult[] = [];
    for (let start = 0; start < messages.length; start += MAX_ROWS) {
      results.push(...this.#storeChunk(messages.slice(start, start + MAX_ROWS)));
    }
    return results;
  }

  #storeChunk(chunk: readonly NewMessage[]): SaveResult[] {
    const params: (number | string | null)[] = [];
    for (const m of chunk) {
      params.push(m.from.id, m.to.id, m.msg, m.sendTime, m.sentAt, m.clientId);
    }
    const rows = this.#insertRowsOf(chunk.length).all(...params) as unknown as InsertedRow[];
    this.#listener.inserted(rows.length);
    const insertedIds = new Set<string>();
    for (const row of rows) {
      if (row.client_id !== null) {
        insertedIds.add(idKey(row.from_user_id, row.to_user_id, row.client_id));
      }
    }
    // Rows are inserted in order, so ids grow with it; RETURNING may list them in any order.
    const ids = rows.map((row) => row.id).sort((a, b) => a - b);
    let next = 0;
    return chunk.map((message) => {
      const { clientId } = message;
      // Only its first occurrence can have inserted a client id; any other is a duplicate.
      if (
        clientId !== null && !insertedIds.delete(idKey(message.from.id, message.to.id, clientId))
      ) {
        const stored = this.duplicateOf(message);
        if (stored === null) throw new Error("Message insert skipped a row without a duplicate");
        return stored;
      }
      if (next >= ids.length) throw new Error("Message insert returned too few rows");
      return this.#stored(message, ids[next++]);
    });
  }

  /** Stores one message, as `storeInOrder` does. */
  store(message: NewMessage): SaveResult {
    return this.#storeChunk([message])[0];
  }

  /** A message just inserted as `id`: its webhook events with it, and what the caller gets. */
  #stored(message: NewMessage, id: number): SaveResult {
    const { from, to, msg, sendTime } = message;
    this.#conversations.inserted(from.id, to.id, id);
    // The message's webhook events commit with it, or neither does.
    if (message.events !== undefined && message.events.length > 0) {
      this.#app.insertMessageEvents(message.events, {
        id,
        fromUserId: from.id,
        toUserId: to.id,
        at: message.sentAt,
      });
    }
    return {
      duplicate: false,
      message: { messageId: id, fromUser: from.username, toUser: to.username, msg, sendTime },
    };
  }

  #insertRowsOf(count: number): StatementSync {
    let statement = this.#insertRows.get(count);
    if (statement === undefined) {
      const values = Array.from({ length: count }, () => "(?, ?, ?, ?, ?, ?)").join(", ");
      statement = this.#db.prepare(`${INSERT_COLUMNS}${values} ${ON_CONFLICT_RETURNING}`);
      this.#insertRows.set(count, statement);
    }
    return statement;
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
