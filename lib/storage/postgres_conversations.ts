/**
 * The conversation state on PostgreSQL (`conversations`, migration 6): the list, one
 * conversation, read markers, and delivered cursors read from the waiting index, as
 * `sqlite_conversations.ts` on SQLite.
 */
import type postgres from "npm:postgres@3.4.9";
import { CONVERSATION_SELECT, type ConversationRow, toConversation } from "./conversation_row.ts";
import type { ConversationQuery, ConversationRecord, ReadMark } from "./repository.ts";

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/** A page of the user's conversations, most recent activity first. */
export async function conversationPage(
  sql: Sql,
  userId: number,
  query: ConversationQuery,
): Promise<ConversationRecord[]> {
  const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
  const rows = await sql.unsafe<ConversationRow[]>(
    `${CONVERSATION_SELECT}
     WHERE c.user_id = $1 AND c.last_message_id < $2 ORDER BY c.last_message_id DESC LIMIT $3`,
    [userId, before, query.limit],
  );
  return rows.map(toConversation);
}

/** One conversation of the user, or `null`. */
export async function oneConversation(
  sql: Sql,
  userId: number,
  peerId: number,
): Promise<ConversationRecord | null> {
  const rows = await sql.unsafe<ConversationRow[]>(
    `${CONVERSATION_SELECT} WHERE c.user_id = $1 AND c.peer_id = $2`,
    [userId, peerId],
  );
  return rows.length === 0 ? null : toConversation(rows[0]);
}

/** The ids of the users the user has a conversation with. */
export async function conversationPeers(sql: Sql, userId: number): Promise<number[]> {
  const rows = await sql<{ peer_id: number }[]>`
    SELECT peer_id FROM conversations WHERE user_id = ${userId} AND peer_id <> ${userId}`;
  return rows.map((row) => row.peer_id);
}

/** Moves the reader's marker forward to `messageId` (a message from the peer), or `null`. */
export async function markRead(
  sql: Sql,
  readerId: number,
  peerId: number,
  messageId: number,
): Promise<ReadMark | null> {
  // One statement: the check, the forward-only move with the unread recount, the state after.
  const [row] = await sql<{ valid: boolean; moved: boolean; read_upto: number; unread: number }[]>`
    WITH valid AS (
      SELECT 1 FROM messages
      WHERE id = ${messageId} AND from_user_id = ${peerId} AND to_user_id = ${readerId}
    ),
    moved AS (
      UPDATE conversations SET read_upto = ${messageId},
        unread = CASE WHEN user_id = peer_id THEN 0 ELSE (SELECT count(*) FROM messages
          WHERE from_user_id = ${peerId} AND to_user_id = ${readerId} AND id > ${messageId}) END
      WHERE user_id = ${readerId} AND peer_id = ${peerId} AND read_upto < ${messageId}
        AND EXISTS (SELECT 1 FROM valid)
      RETURNING read_upto, unread
    ),
    current AS (
      SELECT read_upto, unread FROM conversations
      WHERE user_id = ${readerId} AND peer_id = ${peerId}
    )
    SELECT EXISTS (SELECT 1 FROM valid) AS valid, EXISTS (SELECT 1 FROM moved) AS moved,
      coalesce((SELECT read_upto FROM moved), (SELECT read_upto FROM current), 0) AS read_upto,
      coalesce((SELECT unread FROM moved), (SELECT unread FROM current), 0) AS unread`;
  if (!row.valid) return null;
  return { moved: row.moved, readUpto: row.read_upto, unread: row.unread };
}

/** How far every message of `senderId` to `receiverId` was delivered. */
export async function deliveredUpto(
  sql: Sql,
  receiverId: number,
  senderId: number,
): Promise<number> {
  // Below the oldest message still waiting (or the newest, when none waits): two index look-ups.
  const [{ upto }] = await sql<{ upto: number }[]>`
    SELECT coalesce(max(id), 0) AS upto FROM messages
    WHERE from_user_id = ${senderId} AND to_user_id = ${receiverId}
      AND id < coalesce((SELECT min(id) FROM messages
                         WHERE to_user_id = ${receiverId} AND from_user_id = ${senderId}
                           AND NOT delivered), 9007199254740991)`;
  return upto;
}
