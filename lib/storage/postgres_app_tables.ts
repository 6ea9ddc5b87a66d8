/**
 * The PostgreSQL queries of what plugs the service into an app (issue 13): API keys, erasure of
 * a user, presence times and the webhook outbox. `PostgresRepository` runs them through its
 * pool (and its error mapping). Claims are exclusive across nodes: `FOR UPDATE SKIP LOCKED`
 * picks rows no other node is claiming, and the lease written in the same statement keeps them
 * from being claimed again until it runs out.
 */
import type postgres from "npm:postgres@3.4.9";
import { CLAIMED_EVENT_COLUMNS, type EventRow, toClaimedEvent } from "./outbox_row.ts";
import type {
  ApiKeyRecord,
  ClaimedEvent,
  ClaimRequest,
  EventOutcome,
  MessageEventType,
  NewApiKey,
  OutboxBacklog,
  PresenceChange,
  UserChanges,
} from "./repository.ts";
import { inTransaction } from "./postgres_transaction.ts";

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/** Records the webhook events of a stored message (receiver's queue), inside the save's transaction. */
export async function insertMessageEvents(
  sql: Sql,
  types: readonly MessageEventType[],
  message: { id: number; fromUserId: number; toUserId: number; at: number },
): Promise<void> {
  for (const type of types) {
    await sql`
      INSERT INTO webhook_events (event_id, type, user_id, peer_id, message_id, created_at,
        next_attempt_at)
      VALUES (${crypto.randomUUID()}, ${type}, ${message.toUserId}, ${message.fromUserId},
        ${message.id}, ${message.at}, ${message.at})`;
  }
}

export async function updateUser(sql: Sql, userId: number, changes: UserChanges): Promise<void> {
  const setEmail = changes.email !== undefined;
  await sql`
    UPDATE users SET password_hash = coalesce(${changes.passwordHash ?? null}, password_hash),
      email = CASE WHEN ${setEmail} THEN ${changes.email ?? null} ELSE email END
    WHERE id = ${userId}`;
}

export function deleteUser(
  sql: postgres.Sql<{ int8: number }>,
  userId: number,
): Promise<{ messages: number } | null> {
  return inTransaction(sql, async (tx) => {
    const [user] = await tx`SELECT id FROM users WHERE id = ${userId} FOR UPDATE`;
    if (user === undefined) return null;
    // Outbox events and tokens go with the user (ON DELETE CASCADE); messages have no cascade.
    // The received ones through the pair index, one sender at a time.
    const sent = await tx`DELETE FROM messages WHERE from_user_id = ${userId}`;
    const received = await tx`
      DELETE FROM messages WHERE from_user_id IN (SELECT id FROM users) AND to_user_id = ${userId}`;
    await tx`DELETE FROM users WHERE id = ${userId}`;
    return { messages: sent.count + received.count };
  }) as Promise<{ messages: number } | null>;
}

export function recordPresence(
  sql: postgres.Sql<{ int8: number }>,
  change: PresenceChange,
): Promise<unknown> {
  return inTransaction(sql, async (tx) => {
    await tx`UPDATE users SET last_seen_at = ${change.at} WHERE id = ${change.userId}`;
    if (!change.event) return;
    const type = change.online ? "user.online" : "user.offline";
    await tx`
      INSERT INTO webhook_events (event_id, type, user_id, created_at, next_attempt_at)
      SELECT ${crypto.randomUUID()}, ${type}, id, ${change.at}, ${change.at}
      FROM users WHERE id = ${change.userId}`;
  });
}

export async function createApiKey(sql: Sql, key: NewApiKey): Promise<boolean> {
  const result = await sql`
    INSERT INTO api_keys (name, key_hash, created_at)
    VALUES (${key.name}, ${key.keyHash}, ${key.createdAt}) ON CONFLICT DO NOTHING`;
  return result.count > 0;
}

export async function findApiKey(sql: Sql, keyHash: string): Promise<ApiKeyRecord | null> {
  const rows = await sql<{ name: string; created_at: number }[]>`
    SELECT name, created_at FROM api_keys WHERE key_hash = ${keyHash}`;
  return rows.length === 0 ? null : { name: rows[0].name, createdAt: rows[0].created_at };
}

export async function listApiKeys(sql: Sql): Promise<ApiKeyRecord[]> {
  const rows = await sql<{ name: string; created_at: number }[]>`
    SELECT name, created_at FROM api_keys ORDER BY name`;
  return rows.map((row) => ({ name: row.name, createdAt: row.created_at }));
}

export async function deleteApiKey(sql: Sql, name: string): Promise<boolean> {
  return (await sql`DELETE FROM api_keys WHERE name = ${name}`).count > 0;
}

export async function claimWebhookEvents(
  sql: Sql,
  request: ClaimRequest,
): Promise<ClaimedEvent[]> {
  const { now, leaseUntil, owner, limit } = request;
  // A row another node is claiming is skipped; one it claimed has a lease that has not run out.
  const rows = await sql.unsafe(
    `WITH claimed AS (
       UPDATE webhook_events w SET leased_until = $2, lease_owner = $3
       FROM (SELECT e.seq FROM webhook_events e
             WHERE e.state = 'pending' AND e.next_attempt_at <= $1 AND e.leased_until <= $1
               AND NOT EXISTS (SELECT 1 FROM webhook_events o
                               WHERE o.user_id = e.user_id AND o.state = 'pending'
                                 AND o.seq < e.seq)
             ORDER BY e.seq LIMIT $4
             FOR UPDATE SKIP LOCKED) heads
       WHERE w.seq = heads.seq
       RETURNING w.*
     )
     SELECT ${CLAIMED_EVENT_COLUMNS} FROM claimed e
       JOIN users u ON u.id = e.user_id
       LEFT JOIN messages m ON m.id = e.message_id
       LEFT JOIN users f ON f.id = m.from_user_id
       LEFT JOIN users t ON t.id = m.to_user_id
     ORDER BY e.seq`,
    [now, leaseUntil, owner, limit],
  );
  return (rows as unknown as EventRow[]).map(toClaimedEvent);
}

export async function settleWebhookEvent(
  sql: Sql,
  seq: number,
  owner: string,
  outcome: EventOutcome,
): Promise<boolean> {
  if (outcome.kind === "sent") {
    const result = await sql`
      DELETE FROM webhook_events WHERE seq = ${seq} AND lease_owner = ${owner}`;
    return result.count > 0;
  }
  const retry = outcome.kind === "retry";
  const result = await sql`
    UPDATE webhook_events SET attempts = attempts + 1, leased_until = 0, lease_owner = NULL,
      state = ${retry ? "pending" : "failed"},
      next_attempt_at = ${retry ? outcome.nextAttemptAt : 0},
      last_error = ${outcome.error.slice(0, 500)}
    WHERE seq = ${seq} AND lease_owner = ${owner} AND state = 'pending'`;
  return result.count > 0;
}

export async function webhookBacklog(sql: Sql): Promise<OutboxBacklog> {
  const [row] = await sql<{ pending: number; oldest: number | null }[]>`
    SELECT count(*)::int AS pending, min(created_at) AS oldest FROM webhook_events
    WHERE state = 'pending'`;
  return { pending: row.pending, oldestCreatedAt: row.oldest };
}
