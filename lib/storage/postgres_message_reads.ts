/**
 * The message reads of the PostgreSQL repository: what waits for a receiver (and how many), and
 * a conversation's history, both directions merged.
 */
import type postgres from "npm:postgres@3.4.9";
import { type MessageRow, toMessage } from "./message_row.ts";
import type { HistoryQuery, StoredMessage } from "./repository.ts";

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/** Messages from `fromUserId` not yet delivered to `toUserId`, after `afterId`, oldest first. */
export async function waitingMessages(
  sql: Sql,
  toUserId: number,
  fromUserId: number,
  afterId: number,
  limit: number,
): Promise<StoredMessage[]> {
  const rows = await sql<MessageRow[]>`
    SELECT m.id, f.username AS from_user, t.username AS to_user, m.msg, m.send_time
    FROM messages m JOIN users f ON f.id = m.from_user_id JOIN users t ON t.id = m.to_user_id
    WHERE m.to_user_id = ${toUserId} AND m.from_user_id = ${fromUserId}
      AND NOT m.delivered AND m.id > ${afterId}
    ORDER BY m.id LIMIT ${limit}`;
  return rows.map(toMessage);
}

/** How many messages `waitingMessages` would read, counted up to `limit`. */
export async function waitingCount(
  sql: Sql,
  toUserId: number,
  fromUserId: number,
  limit: number,
): Promise<number> {
  // The messages `waitingMessages` reads, counted as the quota statement counts them.
  const [{ n }] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM messages
      WHERE to_user_id = ${toUserId} AND from_user_id = ${fromUserId} AND NOT delivered
      LIMIT ${limit}) AS counted`;
  return n;
}

/** The conversation between two users in both directions, newest first. */
export async function history(
  sql: Sql,
  userId: number,
  peerId: number,
  query: HistoryQuery,
): Promise<StoredMessage[]> {
  const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
  const limit = query.limit;
  // Two index range scans merged, as in SQLite; a conversation with oneself is one scan.
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
