/**
 * The per-conversation state both SQL repositories keep (table `conversations`, one row per owner
 * and peer): the last message either way, the owner's unread count and read marker, and how far
 * the peer's messages were delivered to the owner. The row as selected, and its conversion.
 */
import { type MessageRow, toMessage } from "./message_row.ts";
import type { ConversationRecord } from "./repository.ts";

/** A conversation as the list query selects it: the row, its peer, the last message. */
export interface ConversationRow extends MessageRow {
  peer_id: number;
  peer: string;
  last_seen_at: number | null;
  unread: number;
  read_upto: number;
  peer_read_upto: number;
}

/** A selected row as the repository returns it. */
export function toConversation(row: ConversationRow): ConversationRecord {
  return {
    peer: { id: row.peer_id, username: row.peer },
    peerLastSeenAt: row.last_seen_at,
    unread: row.unread,
    readUpto: row.read_upto,
    peerReadUpto: row.peer_read_upto,
    lastMessage: toMessage(row),
  };
}

/**
 * The select list and joins of `ConversationRow`, over `conversations c`: the peer's user row,
 * the last message (with its names) and the peer's own row (their read marker of my messages).
 */
export const CONVERSATION_SELECT = `
  SELECT c.peer_id AS peer_id, pu.username AS peer, pu.last_seen_at AS last_seen_at,
         c.unread AS unread, c.read_upto AS read_upto,
         coalesce(r.read_upto, 0) AS peer_read_upto,
         m.id AS id, f.username AS from_user, t.username AS to_user, m.msg AS msg,
         m.send_time AS send_time, m.recalled_at IS NOT NULL AS recalled
  FROM conversations c
  JOIN users pu ON pu.id = c.peer_id
  JOIN messages m ON m.id = c.last_message_id
  JOIN users f ON f.id = m.from_user_id
  JOIN users t ON t.id = m.to_user_id
  LEFT JOIN conversations r ON r.user_id = c.peer_id AND r.peer_id = c.user_id`;
