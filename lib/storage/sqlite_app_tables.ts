/**
 * The SQLite statements of what plugs the service into an app (issue 13): API keys, erasure of
 * a user, presence times and the webhook outbox. Synchronous, like `node:sqlite`;
 * `SqliteRepository` runs them inside its group commit (writes) or as plain reads.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
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

// Due, not claimed by a live lease, and the oldest pending event of its user.
const CLAIMABLE = `
  e.state = 'pending' AND e.next_attempt_at <= ?1 AND e.leased_until <= ?1
  AND NOT EXISTS (SELECT 1 FROM webhook_events o
                  WHERE o.user_id = e.user_id AND o.state = 'pending' AND o.seq < e.seq)`;

const CLAIMED_EVENT_JOINS = `
  JOIN users u ON u.id = e.user_id
  LEFT JOIN messages m ON m.id = e.message_id
  LEFT JOIN users f ON f.id = m.from_user_id
  LEFT JOIN users t ON t.id = m.to_user_id`;

/** The statements, prepared once. */
export class SqliteAppTables {
  readonly #db: DatabaseSync;
  readonly #insertEvent: StatementSync;
  readonly #updateUser: StatementSync;
  readonly #lastSeen: StatementSync;
  readonly #insertKey: StatementSync;
  readonly #selectKey: StatementSync;
  readonly #listKeys: StatementSync;
  readonly #deleteKey: StatementSync;
  readonly #claim: StatementSync;
  readonly #lease: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insertEvent = db.prepare(
      `INSERT INTO webhook_events (event_id, type, user_id, peer_id, message_id, created_at,
         next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#updateUser = db.prepare(
      `UPDATE users SET password_hash = coalesce(?, password_hash),
         email = CASE WHEN ? THEN ? ELSE email END WHERE id = ?`,
    );
    this.#lastSeen = db.prepare(`UPDATE users SET last_seen_at = ? WHERE id = ?`);
    this.#insertKey = db.prepare(
      `INSERT INTO api_keys (name, key_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.#selectKey = db.prepare(`SELECT name, created_at FROM api_keys WHERE key_hash = ?`);
    this.#listKeys = db.prepare(`SELECT name, created_at FROM api_keys ORDER BY name`);
    this.#deleteKey = db.prepare(`DELETE FROM api_keys WHERE name = ?`);
    this.#claim = db.prepare(
      `SELECT ${CLAIMED_EVENT_COLUMNS} FROM webhook_events e ${CLAIMED_EVENT_JOINS}
       WHERE ${CLAIMABLE} ORDER BY e.seq LIMIT ?2`,
    );
    this.#lease = db.prepare(
      `UPDATE webhook_events SET leased_until = ?, lease_owner = ? WHERE seq = ?`,
    );
  }

  /** Records the webhook events of a stored message (receiver's queue). */
  insertMessageEvents(
    types: readonly MessageEventType[],
    message: { id: number; fromUserId: number; toUserId: number; at: number },
  ): void {
    for (const type of types) {
      this.#insertEvent.run(
        crypto.randomUUID(),
        type,
        message.toUserId,
        message.fromUserId,
        message.id,
        message.at,
        message.at,
      );
    }
  }

  updateUser(userId: number, changes: UserChanges): void {
    const setEmail = changes.email !== undefined;
    this.#updateUser.run(
      changes.passwordHash ?? null,
      setEmail ? 1 : 0,
      changes.email ?? null,
      userId,
    );
  }

  deleteUser(userId: number): { messages: number } | null {
    const db = this.#db;
    const exists = db.prepare(`SELECT 1 FROM users WHERE id = ?`).get(userId);
    if (exists === undefined) return null;
    // Their outbox events and tokens go with the user (ON DELETE CASCADE); messages have no
    // cascade, so they go first. The received ones through the pair index, one sender at a time.
    const sent = db.prepare(`DELETE FROM messages WHERE from_user_id = ?`).run(userId);
    const received = db.prepare(
      `DELETE FROM messages WHERE from_user_id IN (SELECT id FROM users) AND to_user_id = ?`,
    ).run(userId);
    db.prepare(`DELETE FROM users WHERE id = ?`).run(userId);
    return { messages: Number(sent.changes) + Number(received.changes) };
  }

  recordPresence(change: PresenceChange): void {
    this.#lastSeen.run(change.at, change.userId);
    if (!change.event) return;
    const type = change.online ? "user.online" : "user.offline";
    this.#insertEvent.run(
      crypto.randomUUID(),
      type,
      change.userId,
      null,
      null,
      change.at,
      change.at,
    );
  }

  createApiKey(key: NewApiKey): boolean {
    return Number(this.#insertKey.run(key.name, key.keyHash, key.createdAt).changes) > 0;
  }

  findApiKey(keyHash: string): ApiKeyRecord | null {
    const row = this.#selectKey.get(keyHash) as { name: string; created_at: number } | undefined;
    return row === undefined ? null : { name: row.name, createdAt: row.created_at };
  }

  listApiKeys(): ApiKeyRecord[] {
    return (this.#listKeys.all() as { name: string; created_at: number }[])
      .map((row) => ({ name: row.name, createdAt: row.created_at }));
  }

  deleteApiKey(name: string): boolean {
    return Number(this.#deleteKey.run(name).changes) > 0;
  }

  /** Selects and leases the claimable events (inside one transaction of the caller's). */
  claim(request: ClaimRequest): ClaimedEvent[] {
    const rows = this.#claim.all(request.now, request.limit) as unknown as EventRow[];
    for (const row of rows) this.#lease.run(request.leaseUntil, request.owner, row.seq);
    return rows.map(toClaimedEvent);
  }

  settle(seq: number, owner: string, outcome: EventOutcome): boolean {
    const db = this.#db;
    if (outcome.kind === "sent") {
      return Number(
        db.prepare(`DELETE FROM webhook_events WHERE seq = ? AND lease_owner = ?`).run(seq, owner)
          .changes,
      ) > 0;
    }
    const retry = outcome.kind === "retry";
    const changed = db.prepare(
      `UPDATE webhook_events SET attempts = attempts + 1, leased_until = 0, lease_owner = NULL,
         state = ?, next_attempt_at = ?, last_error = ?
       WHERE seq = ? AND lease_owner = ? AND state = 'pending'`,
    ).run(
      retry ? "pending" : "failed",
      retry ? outcome.nextAttemptAt : 0,
      outcome.error.slice(0, 500),
      seq,
      owner,
    );
    return Number(changed.changes) > 0;
  }

  backlog(): OutboxBacklog {
    const row = this.#db.prepare(
      `SELECT count(*) AS pending, min(created_at) AS oldest FROM webhook_events
       WHERE state = 'pending'`,
    ).get() as { pending: number; oldest: number | null };
    return { pending: row.pending, oldestCreatedAt: row.oldest };
  }
}
