/**
 * Storage quotas on PostgreSQL (`quota.ts`): one statement per message checks its sender's
 * quotas, charges them and inserts the message, so the hot path costs no extra round trip.
 *
 * - The daily quotas are exact across every node: the charge is an upsert of the sender's one
 *   usage row whose `WHERE` PostgreSQL re-checks on the newest version of that row (it is locked
 *   until commit), so concurrent saves of one sender, on any node, count one after the other.
 * - The message is inserted only when the charge went through, after the direction's advisory
 *   lock (ids of a direction commit in order, see `postgres_message_store.ts`).
 * - The waiting count and the look-up of a stored client id read the statement's snapshot. Saves
 *   on one direction from several nodes at the same instant may each see the count before the
 *   others commit, so the waiting quota can be passed by one message per such concurrent save;
 *   and a resend racing its original on another node may be charged once although not stored.
 */
import type postgres from "npm:postgres@3.4.9";
import { LOCK_CLASS } from "./postgres_schema.ts";
import {
  DAY_MS,
  dayOf,
  messageBytes,
  type QuotaRefusal,
  refusalFor,
  type StorageQuota,
  usageOn,
} from "./quota.ts";
import type { NewMessage } from "./repository.ts";

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/** What became of the insert: stored under `id`, refused, or not stored as a duplicate. */
export type QuotaInsert =
  | { readonly id: number }
  | { readonly refused: QuotaRefusal }
  | { readonly duplicate: true };

interface QuotaRow {
  id: number | null;
  existing: number | null;
  charged: boolean;
  waiting: number;
  day: number | null;
  messages: number | null;
  bytes: number | null;
}

/** Inserts `message` if its sender is within `quota`, charging the quota in the same statement. */
export async function insertWithinQuota(
  sql: Sql,
  message: NewMessage,
  quota: StorageQuota,
): Promise<QuotaInsert> {
  const { from, to, clientId } = message;
  const day = dayOf(message.sentAt);
  const bytes = messageBytes(message);
  const { dailyMessages, dailyBytes, waitingMessages } = quota;
  const [row] = await sql<QuotaRow[]>`
    WITH direction_lock AS (
      SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(current_schema() || ${`:${from.id}>${to.id}`}))
    ),
    existing AS (
      SELECT id FROM messages
      WHERE from_user_id = ${from.id} AND to_user_id = ${to.id} AND client_id = ${clientId}
    ),
    waiting AS (
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM messages
        WHERE to_user_id = ${to.id} AND from_user_id = ${from.id} AND NOT delivered
        LIMIT ${waitingMessages}) AS counted
    ),
    usage AS (SELECT day, messages, bytes FROM message_quota WHERE user_id = ${from.id}),
    charge AS (
      INSERT INTO message_quota AS q (user_id, day, messages, bytes)
      SELECT ${from.id}, ${day}, 1, ${bytes} FROM direction_lock
      WHERE NOT EXISTS (SELECT 1 FROM existing)
        AND (${waitingMessages}::int = 0 OR (SELECT n FROM waiting) < ${waitingMessages})
        AND (${dailyBytes}::bigint = 0 OR ${bytes} <= ${dailyBytes}::bigint)
      ON CONFLICT (user_id) DO UPDATE SET
        day = greatest(q.day, excluded.day),
        messages = CASE WHEN excluded.day > q.day THEN 1 ELSE q.messages + 1 END,
        bytes = CASE WHEN excluded.day > q.day THEN excluded.bytes ELSE q.bytes + excluded.bytes END
      WHERE excluded.day > q.day
        OR ((${dailyMessages}::int = 0 OR q.messages < ${dailyMessages})
          AND (${dailyBytes}::bigint = 0 OR q.bytes + excluded.bytes <= ${dailyBytes}::bigint))
      RETURNING 1
    ),
    inserted AS (
      INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at, client_id)
      SELECT ${from.id}, ${to.id}, ${message.msg}, ${message.sendTime}, ${message.sentAt},
             ${clientId}
      FROM charge
      ON CONFLICT (from_user_id, to_user_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
      RETURNING id
    )
    SELECT (SELECT id FROM inserted) AS id, (SELECT id FROM existing) AS existing,
           EXISTS (SELECT 1 FROM charge) AS charged, (SELECT n FROM waiting) AS waiting,
           (SELECT day FROM usage) AS day, (SELECT messages FROM usage) AS messages,
           (SELECT bytes FROM usage) AS bytes`;
  if (row.id !== null) return { id: row.id };
  // Charged but not inserted: a resend that raced its original (see the module notes).
  if (row.existing !== null || row.charged) return { duplicate: true };
  return { refused: refusalOf(quota, row, bytes, message.sentAt) };
}

/** Which quota refused the message, from what the statement saw. */
function refusalOf(quota: StorageQuota, row: QuotaRow, bytes: number, sentAt: number) {
  const stored = row.day === null
    ? null
    : { day: row.day, messages: row.messages ?? 0, bytes: row.bytes ?? 0 };
  const usage = usageOn(stored, dayOf(sentAt));
  const refusal = refusalFor(quota, usage, row.waiting, bytes, sentAt);
  if (refusal !== null) return refusal;
  // The snapshot was within the quota: sends from other nodes filled it meanwhile.
  const byCount = quota.dailyMessages > 0 &&
    (quota.dailyBytes === 0 ||
      usage.messages / quota.dailyMessages >= usage.bytes / quota.dailyBytes);
  const retryAfterMs = Math.max(1, (usage.day + 1) * DAY_MS - sentAt);
  return byCount
    ? { quota: "daily_messages" as const, limit: quota.dailyMessages, retryAfterMs }
    : { quota: "daily_bytes" as const, limit: quota.dailyBytes, retryAfterMs };
}
