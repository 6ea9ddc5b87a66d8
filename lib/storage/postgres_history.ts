/**
 * The PostgreSQL reads and writes of one message in a conversation's history: the history page
 * (two index range scans merged, as in SQLite; a conversation with oneself is one scan) and a
 * recall, which erases the text in place (the row stays as a recalled item; the old row version
 * is dead at once and removed by the next vacuum, as any update's).
 */
import type postgres from "postgres";
import { type MessageRow, toMessage } from "./message_row.ts";
import type { HistoryQuery, RecallOutcome, RecallRequest, StoredMessage } from "./repository.ts";

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/** The conversation between two users in both directions, newest first. */
export async function history(
  sql: Sql,
  userId: number,
  peerId: number,
  query: HistoryQuery,
): Promise<StoredMessage[]> {
  const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
  const limit = query.limit;
  const rows = userId === peerId
    ? await sql<MessageRow[]>`
      SELECT m.id, u.username AS from_user, u.username AS to_user, m.msg, m.send_time,
             m.recalled_at IS NOT NULL AS recalled
      FROM messages m JOIN users u ON u.id = m.from_user_id
      WHERE m.from_user_id = ${userId} AND m.to_user_id = ${userId} AND m.id < ${before}
      ORDER BY m.id DESC LIMIT ${limit}`
    : await sql<MessageRow[]>`
      SELECT m.id, f.username AS from_user, t.username AS to_user, m.msg, m.send_time,
             m.recalled_at IS NOT NULL AS recalled
      FROM (
        (SELECT * FROM messages WHERE from_user_id = ${userId} AND to_user_id = ${peerId}
           AND id < ${before} ORDER BY id DESC LIMIT ${limit})
        UNION ALL
        (SELECT * FROM messages WHERE from_user_id = ${peerId} AND to_user_id = ${userId}
           AND id < ${before} ORDER BY id DESC LIMIT ${limit})
      ) m
      JOIN users f ON f.id = m.from_user_id JOIN users t ON t.id = m.to_user_id
      ORDER BY m.id DESC LIMIT ${limit}`;
  return rows.map(toMessage);
}

/** Recalls within the request's bounds, in one transaction; see `Repository.recallMessage`. */
export function recallMessage(
  sql: postgres.Sql<{ int8: number }>,
  request: RecallRequest,
): Promise<RecallOutcome> {
  return sql.begin(async (tx) => {
    // Locked until commit: two recalls of one message (or a recall and an erasure) take turns.
    const [target] = await tx<
      { from_user_id: number; to_user_id: number; sent_at: number; recalled: boolean }[]
    >`
      SELECT from_user_id, to_user_id, sent_at, recalled_at IS NOT NULL AS recalled
      FROM messages WHERE id = ${request.messageId} FOR UPDATE`;
    if (
      target === undefined || target.from_user_id !== request.senderId ||
      (request.toUserId !== undefined && target.to_user_id !== request.toUserId)
    ) {
      return { kind: "refused", reason: "not_yours" } as const;
    }
    if (!target.recalled && target.sent_at < request.notBefore) {
      return { kind: "refused", reason: "too_late" } as const;
    }
    if (!target.recalled) {
      await tx`UPDATE messages SET msg = '', recalled_at = ${request.at}, delivered = true
               WHERE id = ${request.messageId}`;
      await tx`DELETE FROM webhook_events
               WHERE message_id = ${request.messageId} AND state = 'pending'`;
    }
    const [row] = await tx<MessageRow[]>`
      SELECT m.id, f.username AS from_user, t.username AS to_user, m.msg, m.send_time,
             true AS recalled
      FROM messages m JOIN users f ON f.id = m.from_user_id JOIN users t ON t.id = m.to_user_id
      WHERE m.id = ${request.messageId}`;
    return {
      kind: "recalled",
      message: toMessage(row),
      fromUserId: target.from_user_id,
      toUserId: target.to_user_id,
      already: target.recalled,
    } as const;
  }) as Promise<RecallOutcome>;
}
