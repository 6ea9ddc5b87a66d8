/**
 * The conversation state on SQLite (`conversations`, migration 6): the list, one conversation,
 * read markers, and delivered cursors read from the waiting index. Statements prepared once;
 * writes run inside the repository's group commit.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { CONVERSATION_SELECT, type ConversationRow, toConversation } from "./conversation_row.ts";
import type { ConversationQuery, ConversationRecord, ReadMark } from "./repository.ts";

/** The conversation statements. */
export class SqliteConversations {
  readonly #page: StatementSync;
  readonly #one: StatementSync;
  readonly #peers: StatementSync;
  readonly #isFromPeer: StatementSync;
  readonly #moveRead: StatementSync;
  readonly #readState: StatementSync;
  readonly #deliveredUpto: StatementSync;

  constructor(db: DatabaseSync) {
    this.#page = db.prepare(
      `${CONVERSATION_SELECT}
       WHERE c.user_id = ? AND c.last_message_id < ? ORDER BY c.last_message_id DESC LIMIT ?`,
    );
    this.#one = db.prepare(`${CONVERSATION_SELECT} WHERE c.user_id = ? AND c.peer_id = ?`);
    this.#peers = db.prepare(
      `SELECT peer_id FROM conversations WHERE user_id = ?1 AND peer_id <> ?1`,
    );
    this.#isFromPeer = db.prepare(
      `SELECT 1 FROM messages WHERE id = ? AND from_user_id = ? AND to_user_id = ?`,
    );
    // Forward only; the unread count is recounted from the pair index past the new marker.
    this.#moveRead = db.prepare(
      `UPDATE conversations SET read_upto = ?3,
         unread = CASE WHEN ?1 = ?2 THEN 0 ELSE (SELECT count(*) FROM messages
           WHERE from_user_id = ?2 AND to_user_id = ?1 AND id > ?3) END
       WHERE user_id = ?1 AND peer_id = ?2 AND read_upto < ?3`,
    );
    this.#readState = db.prepare(
      `SELECT read_upto, unread FROM conversations WHERE user_id = ? AND peer_id = ?`,
    );
    // Below the oldest message still waiting (or the newest, when none waits): two index
    // look-ups, the waiting index and the pair index.
    this.#deliveredUpto = db.prepare(
      `SELECT coalesce(max(id), 0) AS upto FROM messages
       WHERE from_user_id = ?2 AND to_user_id = ?1
         AND id < coalesce((SELECT min(id) FROM messages
                            WHERE to_user_id = ?1 AND from_user_id = ?2 AND delivered = 0),
                           9007199254740991)`,
    );
  }

  page(userId: number, query: ConversationQuery): ConversationRecord[] {
    const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
    const rows = this.#page.all(userId, before, query.limit) as unknown as ConversationRow[];
    return rows.map(toConversation);
  }

  one(userId: number, peerId: number): ConversationRecord | null {
    const row = this.#one.get(userId, peerId) as ConversationRow | undefined;
    return row === undefined ? null : toConversation(row);
  }

  peers(userId: number): number[] {
    return (this.#peers.all(userId) as { peer_id: number }[]).map((row) => row.peer_id);
  }

  markRead(readerId: number, peerId: number, messageId: number): ReadMark | null {
    if (this.#isFromPeer.get(messageId, peerId, readerId) === undefined) return null;
    const moved = Number(this.#moveRead.run(readerId, peerId, messageId).changes) > 0;
    const state = this.#readState.get(readerId, peerId) as
      | { read_upto: number; unread: number }
      | undefined;
    return { moved, readUpto: state?.read_upto ?? 0, unread: state?.unread ?? 0 };
  }

  deliveredUpto(receiverId: number, senderId: number): number {
    return (this.#deliveredUpto.get(receiverId, senderId) as { upto: number }).upto;
  }
}
