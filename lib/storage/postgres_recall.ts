/**
 * Recall on PostgreSQL: the text is erased in place (the row stays as a recalled item). The old
 * row version is dead at once, unreadable by any query, and its bytes are removed by the next
 * vacuum of the table (autovacuum), as any update's; the trigram index entries go with it.
 */
import type postgres from "npm:postgres@3.4.9";
import { type MessageRow, toMessage } from "./message_row.ts";
import type { RecallOutcome, RecallRequest } from "./repository.ts";
import { inTransaction } from "./postgres_transaction.ts";

/** Recalls within the request's bounds, in one transaction; see `Repository.recallMessage`. */
export function recallMessage(
  sql: postgres.Sql<{ int8: number }>,
  request: RecallRequest,
): Promise<RecallOutcome> {
  return inTransaction(sql, async (tx) => {
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
