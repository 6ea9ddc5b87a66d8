/** The embedded repository: one SQLite file through `node:sqlite`, in WAL mode. */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { keepWal, openDatabase, type SqliteOptions, type WalKeeping } from "./sqlite_connection.ts";
import { SqliteWriteQueue } from "./sqlite_write_queue.ts";
import { fromSqliteError } from "./sqlite_errors.ts";
import { MESSAGE_COLUMNS, MESSAGE_JOINS, type MessageRow, toMessage } from "./message_row.ts";
import { SqliteAppTables } from "./sqlite_app_tables.ts";
import { SqliteQuota } from "./sqlite_quota.ts";
import { SqliteMessageStore } from "./sqlite_message_store.ts";
import { SqliteConversations } from "./sqlite_conversations.ts";
import { SqliteSearch } from "./sqlite_search.ts";
import { SqliteSearchIndexer } from "./sqlite_search_indexer.ts";
import { SqliteRecall } from "./sqlite_recall.ts";
import type { WalSync } from "./wal_sync.ts";
import type { WalCheckpointer } from "./wal_checkpointer.ts";
import { quotaIsOn, type StorageQuota } from "./quota.ts";
import type {
  ApiKeyRecord,
  ClaimedEvent,
  ClaimRequest,
  ConversationQuery,
  ConversationRecord,
  EventOutcome,
  HistoryQuery,
  NewApiKey,
  NewMessage,
  NewToken,
  NewUser,
  OutboxBacklog,
  PresenceChange,
  ReadMark,
  RecallOutcome,
  RecallRequest,
  Repository,
  SaveOutcome,
  SaveResult,
  SearchQuery,
  Session,
  StoredMessage,
  UserChanges,
  UserRecord,
  UserRef,
} from "./repository.ts";

export type { SqliteOptions } from "./sqlite_connection.ts";

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && /UNIQUE constraint failed/.test(error.message);
}

/** The search indexer of the repository's connection; its commits count for the WAL's sync. */
function searchIndexer(db: DatabaseSync, wal: WalKeeping, options: SqliteOptions) {
  return new SqliteSearchIndexer(db, () => wal.sync.committed(), options.indexer, options.log);
}

/** A `Repository` on one SQLite file. */
export class SqliteRepository implements Repository {
  readonly #db: DatabaseSync;
  readonly #insertUser: StatementSync;
  readonly #selectUser: StatementSync;
  readonly #insertToken: StatementSync;
  readonly #selectSession: StatementSync;
  readonly #deleteToken: StatementSync;
  readonly #deleteExpired: StatementSync;
  readonly #markDelivered: StatementSync;
  readonly #selectWaiting: StatementSync;
  readonly #selectHistory: StatementSync;
  readonly #selectOwnHistory: StatementSync;
  readonly #app: SqliteAppTables;
  readonly #quota: SqliteQuota;
  readonly #messages: SqliteMessageStore;
  readonly #conversations: SqliteConversations;
  readonly #search: SqliteSearch;
  readonly #indexer: SqliteSearchIndexer;
  readonly #recall: SqliteRecall;
  readonly #walSync: WalSync;
  readonly #checkpointer: WalCheckpointer | null;
  readonly #writes: SqliteWriteQueue;

  /** Opens (creating if needed) and migrates the database at `path`; `:memory:` works too. */
  constructor(path: string, options: SqliteOptions) {
    const db = this.#db = openDatabase(path, options);
    const wal = keepWal(db, path, options);
    this.#walSync = wal.sync;
    this.#checkpointer = wal.checkpointer;
    this.#writes = new SqliteWriteQueue(db, wal.sync);
    // Not stored when an existing user shares a look-alike key (NULL keys match nothing).
    this.#insertUser = db.prepare(
      `INSERT INTO users (username, username_key, password_hash, email, created_at, skeleton_key,
                          folded_key)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
       WHERE NOT EXISTS (SELECT 1 FROM users WHERE skeleton_key = ?6 OR folded_key = ?7)
       RETURNING id`,
    );
    this.#selectUser = db.prepare(
      `SELECT id, username, password_hash, email, created_at, last_seen_at
       FROM users WHERE username_key = ?`,
    );
    this.#insertToken = db.prepare(
      `INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
    );
    this.#selectSession = db.prepare(
      `SELECT t.token_hash, t.expires_at, u.id, u.username
       FROM tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ? AND t.expires_at > ?`,
    );
    this.#deleteToken = db.prepare(`DELETE FROM tokens WHERE token_hash = ?`);
    this.#deleteExpired = db.prepare(`DELETE FROM tokens WHERE expires_at <= ?`);
    // One statement for a whole batch of ids, passed as a JSON array.
    this.#markDelivered = db.prepare(
      `UPDATE messages SET delivered = 1
       WHERE id IN (SELECT value FROM json_each(?)) AND delivered = 0`,
    );
    this.#selectWaiting = db.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
       WHERE m.to_user_id = ? AND m.from_user_id = ? AND m.delivered = 0 AND m.id > ?
       ORDER BY m.id LIMIT ?`,
    );
    // Two index range scans merged, rather than an OR the planner may not split.
    this.#selectHistory = db.prepare(
      `SELECT * FROM (
         SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
           WHERE m.from_user_id = ?1 AND m.to_user_id = ?2 AND m.id < ?3 ORDER BY m.id DESC LIMIT ?4)
         UNION ALL
         SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
           WHERE m.from_user_id = ?2 AND m.to_user_id = ?1 AND m.id < ?3 ORDER BY m.id DESC LIMIT ?4)
       ) ORDER BY id DESC LIMIT ?4`,
    );
    this.#selectOwnHistory = db.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
       WHERE m.from_user_id = ?1 AND m.to_user_id = ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3`,
    );
    this.#app = new SqliteAppTables(db);
    this.#quota = new SqliteQuota(db);
    this.#indexer = searchIndexer(db, wal, options);
    this.#messages = new SqliteMessageStore(db, this.#app, this.#indexer);
    this.#conversations = new SqliteConversations(db);
    this.#search = new SqliteSearch(db);
    this.#recall = new SqliteRecall(db);
  }

  createUser(user: NewUser): Promise<UserRef | null> {
    try {
      const row = this.#insertUser.get(
        user.username,
        user.usernameKey,
        user.passwordHash,
        user.email,
        user.createdAt,
        user.lookalike?.skeleton ?? null,
        user.lookalike?.folded ?? null,
      ) as { id: number } | undefined;
      if (row === undefined) return Promise.resolve(null);
      this.#walSync.committed();
      return this.#writes.durable({ id: row.id, username: user.username });
    } catch (error) {
      if (isUniqueViolation(error)) return Promise.resolve(null);
      return Promise.reject(fromSqliteError(error));
    }
  }

  findUser(usernameKey: string): Promise<UserRecord | null> {
    return this.#writes.attempt(() => {
      const row = this.#selectUser.get(usernameKey) as
        | {
          id: number;
          username: string;
          password_hash: string;
          email: string | null;
          created_at: number;
          last_seen_at: number | null;
        }
        | undefined;
      if (row === undefined) return null;
      return {
        id: row.id,
        username: row.username,
        passwordHash: row.password_hash,
        email: row.email,
        createdAt: row.created_at,
        lastSeenAt: row.last_seen_at,
      };
    });
  }

  createToken(token: NewToken): Promise<void> {
    return this.#writes.attempt(() => {
      this.#insertToken.run(token.tokenHash, token.userId, token.createdAt, token.expiresAt);
    }, true);
  }

  findSession(tokenHash: string, now: number): Promise<Session | null> {
    return this.#writes.attempt(() => {
      const row = this.#selectSession.get(tokenHash, now) as
        | { token_hash: string; expires_at: number; id: number; username: string }
        | undefined;
      if (row === undefined) return null;
      return {
        tokenHash: row.token_hash,
        expiresAt: row.expires_at,
        user: { id: row.id, username: row.username },
      };
    });
  }

  deleteToken(tokenHash: string): Promise<boolean> {
    return this.#writes.attempt(() => Number(this.#deleteToken.run(tokenHash).changes) > 0, true);
  }

  deleteExpiredTokens(now: number): Promise<number> {
    return this.#writes.attempt(() => Number(this.#deleteExpired.run(now).changes), true);
  }

  saveMessages(messages: readonly NewMessage[]): Promise<SaveResult[]> {
    if (messages.length === 0) return Promise.resolve([]);
    // One write of the next group commit: all are stored, in order, or none is.
    return this.#writes.write(() =>
      this.#messages.saving(() => this.#messages.storeInOrder(messages))
    );
  }

  saveMessagesWithin(messages: readonly NewMessage[], quota: StorageQuota): Promise<SaveOutcome[]> {
    if (!quotaIsOn(quota)) return this.saveMessages(messages);
    return this.#writes.write(() =>
      this.#messages.saving(() => this.#quota.save(messages, quota, this.#messages))
    );
  }

  markDelivered(messageIds: readonly number[]): Promise<void> {
    if (messageIds.length === 0) return Promise.resolve();
    return this.#writes.write(() => {
      this.#markDelivered.run(JSON.stringify(messageIds));
    });
  }

  deliveredUpto(receiverId: number, senderId: number): Promise<number> {
    return this.#writes.attempt(() => this.#conversations.deliveredUpto(receiverId, senderId));
  }

  conversations(userId: number, query: ConversationQuery): Promise<ConversationRecord[]> {
    return this.#writes.attempt(() => this.#conversations.page(userId, query));
  }

  conversation(userId: number, peerId: number): Promise<ConversationRecord | null> {
    return this.#writes.attempt(() => this.#conversations.one(userId, peerId));
  }

  conversationPeers(userId: number): Promise<number[]> {
    return this.#writes.attempt(() => this.#conversations.peers(userId));
  }

  markRead(readerId: number, peerId: number, messageId: number): Promise<ReadMark | null> {
    return this.#writes.write(() => this.#conversations.markRead(readerId, peerId, messageId));
  }

  waitingMessages(
    toUserId: number,
    fromUserId: number,
    afterId: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    return this.#writes.attempt(() =>
      (this.#selectWaiting.all(toUserId, fromUserId, afterId, limit) as unknown as MessageRow[])
        .map(toMessage)
    );
  }

  waitingCount(toUserId: number, fromUserId: number, limit: number): Promise<number> {
    return this.#writes.attempt(() => this.#messages.countWaiting(toUserId, fromUserId, limit));
  }

  history(userId: number, peerId: number, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#writes.attempt(() => {
      const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
      const rows = userId === peerId
        ? this.#selectOwnHistory.all(userId, before, query.limit)
        : this.#selectHistory.all(userId, peerId, before, query.limit);
      return (rows as unknown as MessageRow[]).map(toMessage);
    });
  }

  searchMessages(userId: number, peerId: number, query: SearchQuery): Promise<StoredMessage[]> {
    // Every stored message is indexed first, so a search finds what was sent a moment ago.
    return this.#writes.attempt(() => {
      this.#indexer.catchUp();
      return this.#search.search(userId, peerId, query);
    });
  }

  recallMessage(request: RecallRequest): Promise<RecallOutcome> {
    return this.#writes.write(() => this.#recall.recall(request));
  }

  updateUser(userId: number, changes: UserChanges): Promise<void> {
    return this.#writes.write(() => this.#app.updateUser(userId, changes));
  }

  deleteUser(userId: number): Promise<{ messages: number } | null> {
    return this.#writes.write(() => this.#app.deleteUser(userId));
  }

  recordPresence(change: PresenceChange): Promise<void> {
    return this.#writes.write(() => this.#app.recordPresence(change));
  }

  createApiKey(key: NewApiKey): Promise<boolean> {
    return this.#writes.write(() => this.#app.createApiKey(key));
  }

  findApiKey(keyHash: string): Promise<ApiKeyRecord | null> {
    return this.#writes.attempt(() => this.#app.findApiKey(keyHash));
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#writes.attempt(() => this.#app.listApiKeys());
  }

  deleteApiKey(name: string): Promise<boolean> {
    return this.#writes.write(() => this.#app.deleteApiKey(name));
  }

  claimWebhookEvents(request: ClaimRequest): Promise<ClaimedEvent[]> {
    return this.#writes.write(() => this.#app.claim(request));
  }

  settleWebhookEvent(seq: number, owner: string, outcome: EventOutcome): Promise<boolean> {
    return this.#writes.write(() => this.#app.settle(seq, owner, outcome));
  }

  webhookBacklog(): Promise<OutboxBacklog> {
    return this.#writes.attempt(() => this.#app.backlog());
  }

  ping(): Promise<void> {
    return this.#writes.attempt(() => {
      this.#db.prepare("SELECT 1").get();
    });
  }

  probeWrite(at: number): Promise<void> {
    return this.#writes.write(() => {
      this.#db.prepare(
        `INSERT INTO write_probe (id, probed_at) VALUES (1, ?)
         ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at`,
      ).run(at);
    });
  }

  async close(): Promise<void> {
    // At once, so that no write queued from now on starts a timer: it fails as closed.
    try {
      this.#writes.commitPending();
      this.#indexer.stop();
      if (this.#db.isOpen) this.#db.close();
    } catch (error) {
      throw fromSqliteError(error);
    }
    // The last commits' sync; then the Worker's last checkpoint, with the only connection left.
    await this.#walSync.close();
    await this.#checkpointer?.stop();
  }
}
