/**
 * How the PostgreSQL repository stores messages: in order, in one transaction when there are
 * several or webhook events; each insert after its direction's advisory lock, so ids of a
 * direction commit in order; a stored client id of the same sender and receiver answers with the
 * stored message instead.
 */
import type postgres from "npm:postgres@3.4.9";
import { LOCK_CLASS } from "./postgres_schema.ts";
import { type MessageRow, toMessage } from "./message_row.ts";
import * as app from "./postgres_app_tables.ts";
import { insertWithinQuota } from "./postgres_quota.ts";
import type { StorageQuota } from "./quota.ts";
import type { NewMessage, SaveOutcome, SaveResult } from "./repository.ts";
import { inTransaction } from "./postgres_transaction.ts";

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/**
 * Stores `messages` in order (at least one): all are stored or none is, and none after one
 * refused. Without a quota no outcome is refused.
 */
export async function saveInOrder(
  sql: postgres.Sql<{ int8: number }>,
  messages: readonly NewMessage[],
  quota: StorageQuota | null,
): Promise<SaveOutcome[]> {
  // One statement is its own transaction (with webhook events, they share one).
  if (messages.length === 1 && (messages[0].events?.length ?? 0) === 0) {
    return [await save(sql, messages[0], quota)];
  }
  // One transaction, in order: all are stored or none is; none after one refused.
  return await (inTransaction(sql, async (tx) => {
    const saved: SaveOutcome[] = [];
    let refused: SaveOutcome | null = null;
    for (const message of messages) {
      const outcome: SaveOutcome = refused === null
        ? await save(tx, message, quota)
        : await duplicateOf(tx, message) ?? refused;
      if ("refused" in outcome) refused = outcome;
      saved.push(outcome);
    }
    return saved;
  }) as Promise<SaveOutcome[]>);
}

/** Stores one message with its webhook events, or answers with the one stored before. */
async function save(
  sql: Sql,
  message: NewMessage,
  quota: StorageQuota | null,
): Promise<SaveOutcome> {
  const { from, to } = message;
  const inserted = quota === null
    ? await insert(sql, message)
    : await insertWithinQuota(sql, message, quota);
  if ("refused" in inserted) return inserted;
  if (!("id" in inserted)) {
    // Only a client id conflict skips the insert: return what was stored under it.
    const stored = await duplicateOf(sql, message);
    if (stored === null) throw new Error("Message insert returned no row");
    return stored;
  }
  if (message.events !== undefined && message.events.length > 0) {
    await app.insertMessageEvents(sql, message.events, {
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
      msg: message.msg,
      sendTime: message.sendTime,
    },
  };
}

/** Inserts without quotas; `{ duplicate }` when the client id was stored before. */
async function insert(
  sql: Sql,
  message: NewMessage,
): Promise<{ id: number } | { duplicate: true }> {
  const { from, to } = message;
  // One statement, one transaction. The advisory lock on the (from, to) direction is taken
  // before the identity is drawn and held until commit, so on each direction ids commit in
  // increasing order even when two of the sender's sockets, on two nodes, send at once: a
  // reader that sees id N also sees every smaller id of that direction. Advisory locks are
  // database-wide, so the key names the schema: services on other schemas never wait here.
  const inserted = await sql<{ id: number }[]>`
        INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at, client_id)
        SELECT ${from.id}, ${to.id}, ${message.msg}, ${message.sendTime}, ${message.sentAt},
               ${message.clientId}
        FROM (SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(current_schema() || ${`:${from.id}>${to.id}`})))
          AS direction_lock
        ON CONFLICT (from_user_id, to_user_id, client_id) WHERE client_id IS NOT NULL
          DO NOTHING
        RETURNING id`;
  return inserted.length > 0 ? { id: inserted[0].id } : { duplicate: true };
}

/** The message stored before under the same sender, receiver and client id, if any. */
async function duplicateOf(sql: Sql, message: NewMessage): Promise<SaveResult | null> {
  if (message.clientId === null) return null;
  const rows = await sql<MessageRow[]>`
        SELECT m.id, f.username AS from_user, t.username AS to_user, m.msg, m.send_time,
               m.recalled_at IS NOT NULL AS recalled
        FROM messages m JOIN users f ON f.id = m.from_user_id JOIN users t ON t.id = m.to_user_id
        WHERE m.from_user_id = ${message.from.id} AND m.to_user_id = ${message.to.id}
          AND m.client_id = ${message.clientId}`;
  return rows.length === 0 ? null : { duplicate: true, message: toMessage(rows[0]) };
}
