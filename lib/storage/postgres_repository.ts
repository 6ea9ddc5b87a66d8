/**
 * The clustered repository: PostgreSQL through `npm:postgres`, shared by every node. Loaded by
 * `main.ts` with a dynamic `import()` only when `DATABASE_URL` is set, so the embedded default
 * never loads the client.
 */
import postgres from "npm:postgres@3.4.9";
import { migrate } from "./postgres_schema.ts";
import { fromPostgresError } from "./postgres_errors.ts";
import * as app from "./postgres_app_tables.ts";
import { saveInOrder } from "./postgres_message_store.ts";
import * as conversations from "./postgres_conversations.ts";
import * as reads from "./postgres_message_reads.ts";
import { searchMessages } from "./postgres_search.ts";
import { recallMessage } from "./postgres_recall.ts";
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
import { LOCK_CLASS } from "./postgres_schema.ts";
import { inTransaction } from "./postgres_transaction.ts";

/** Options of the PostgreSQL repository; `main.ts` passes them from `Config`. */
export interface PostgresOptions {
  /**
   * `postgres://user:password@host:port/database`. Query parameters other than the client's
   * own are session settings, e.g. `?lock_timeout=5s` bounds how long a write waits for a lock.
   */
  readonly url: string;
  /** Schema holding the tables; created when missing. */
  readonly schema: string;
  /** Most connections in the pool. */
  readonly poolSize: number;
}

// How long opening a connection may take before the query waiting for it fails.
const CONNECT_TIMEOUT_SECONDS = 10;
// An idle connection is closed after this long; the pool opens a new one when needed.
const IDLE_TIMEOUT_SECONDS = 60;

// int8 columns come back as strings by default; ids and times stay far below 2^53.
const INT8_AS_NUMBER = {
  to: 20,
  from: [20],
  serialize: (value: number) => String(value),
  parse: (value: string) => Number(value),
};

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/** A `Repository` on a PostgreSQL database shared by every node of a cluster. */
export class PostgresRepository implements Repository {
  readonly #sql: postgres.Sql<{ int8: number }>;
  #closed = false;

  private constructor(sql: postgres.Sql<{ int8: number }>) {
    this.#sql = sql;
  }

  /** Connects, creates or migrates the schema, and returns the repository. */
  static async open(options: PostgresOptions): Promise<PostgresRepository> {
    const { schema } = options;
    const sql = postgres(options.url, {
      max: options.poolSize,
      connect_timeout: CONNECT_TIMEOUT_SECONDS,
      idle_timeout: IDLE_TIMEOUT_SECONDS,
      onnotice: () => {},
      types: { int8: INT8_AS_NUMBER },
      connection: { search_path: schema, application_name: "chat" },
    });
    try {
      await migrate(sql, schema);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw error;
    }
    return new PostgresRepository(sql);
  }

  async createUser(user: NewUser): Promise<UserRef | null> {
    const skeleton = user.lookalike?.skeleton ?? null;
    const folded = user.lookalike?.folded ?? null;
    const rows = await this.#run((sql) =>
      inTransaction(sql, async (tx) => {
        // Two registrations of look-alike names wait for each other here (locks in one order,
        // so they cannot deadlock); the check below then sees the one committed first.
        if (skeleton !== null && folded !== null) {
          for (const key of [...new Set([skeleton, folded])].sort()) {
            await tx`SELECT pg_advisory_xact_lock(${
              LOCK_CLASS + 1
            }, hashtext(current_schema() || ${`:${key}`}))`;
          }
        }
        return await tx<{ id: number }[]>`
          INSERT INTO users (username, username_key, password_hash, email, created_at,
                             skeleton_key, folded_key)
          SELECT ${user.username}, ${user.usernameKey}, ${user.passwordHash}, ${user.email},
                 ${user.createdAt}, ${skeleton}, ${folded}
          WHERE NOT EXISTS (SELECT 1 FROM users
                            WHERE skeleton_key = ${skeleton} OR folded_key = ${folded})
          ON CONFLICT (username_key) DO NOTHING
          RETURNING id`;
      }) as Promise<{ id: number }[]>
    );
    return rows.length === 0 ? null : { id: rows[0].id, username: user.username };
  }

  async findUser(usernameKey: string): Promise<UserRecord | null> {
    const rows = await this.#run((sql) =>
      sql<
        {
          id: number;
          username: string;
          password_hash: string;
          email: string | null;
          created_at: number;
          last_seen_at: number | null;
        }[]
      >`
        SELECT id, username, password_hash, email, created_at, last_seen_at
        FROM users WHERE username_key = ${usernameKey}`
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    return {
      id: row.id,
      username: row.username,
      passwordHash: row.password_hash,
      email: row.email,
      createdAt: row.created_at,
      lastSeenAt: row.last_seen_at,
    };
  }

  async createToken(token: NewToken): Promise<void> {
    await this.#run((sql) =>
      sql`
        INSERT INTO tokens (token_hash, user_id, created_at, expires_at)
        VALUES (${token.tokenHash}, ${token.userId}, ${token.createdAt}, ${token.expiresAt})`
    );
  }

  async findSession(tokenHash: string, now: number): Promise<Session | null> {
    const rows = await this.#run((sql) =>
      sql<{ token_hash: string; expires_at: number; id: number; username: string }[]>`
        SELECT t.token_hash, t.expires_at, u.id, u.username
        FROM tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = ${tokenHash} AND t.expires_at > ${now}`
    );
    if (rows.length === 0) return null;
    const row = rows[0];
    return {
      tokenHash: row.token_hash,
      expiresAt: row.expires_at,
      user: { id: row.id, username: row.username },
    };
  }

  async deleteToken(tokenHash: string): Promise<boolean> {
    const result = await this.#run((sql) =>
      sql`DELETE FROM tokens WHERE token_hash = ${tokenHash}`
    );
    return result.count > 0;
  }

  async deleteExpiredTokens(now: number): Promise<number> {
    const result = await this.#run((sql) => sql`DELETE FROM tokens WHERE expires_at <= ${now}`);
    return result.count;
  }

  saveMessages(messages: readonly NewMessage[]): Promise<SaveResult[]> {
    return this.#saveAll(messages, null) as Promise<SaveResult[]>;
  }

  saveMessagesWithin(messages: readonly NewMessage[], quota: StorageQuota): Promise<SaveOutcome[]> {
    return this.#saveAll(messages, quotaIsOn(quota) ? quota : null);
  }

  /** Without a quota no outcome is refused. */
  #saveAll(messages: readonly NewMessage[], quota: StorageQuota | null): Promise<SaveOutcome[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return this.#run((sql) => saveInOrder(sql, messages, quota));
  }

  async markDelivered(messageIds: readonly number[]): Promise<void> {
    if (messageIds.length === 0) return;
    await this.#run((sql) =>
      sql`UPDATE messages SET delivered = true
          WHERE id = ANY(${sql.array([...messageIds], 20)}) AND NOT delivered`
    );
  }

  deliveredUpto(receiverId: number, senderId: number): Promise<number> {
    return this.#run((sql) => conversations.deliveredUpto(sql, receiverId, senderId));
  }

  conversations(userId: number, query: ConversationQuery): Promise<ConversationRecord[]> {
    return this.#run((sql) => conversations.conversationPage(sql, userId, query));
  }

  conversation(userId: number, peerId: number): Promise<ConversationRecord | null> {
    return this.#run((sql) => conversations.oneConversation(sql, userId, peerId));
  }

  conversationPeers(userId: number): Promise<number[]> {
    return this.#run((sql) => conversations.conversationPeers(sql, userId));
  }

  markRead(readerId: number, peerId: number, messageId: number): Promise<ReadMark | null> {
    return this.#run((sql) => conversations.markRead(sql, readerId, peerId, messageId));
  }

  waitingMessages(
    toUserId: number,
    fromUserId: number,
    afterId: number,
    limit: number,
  ): Promise<StoredMessage[]> {
    return this.#run((sql) => reads.waitingMessages(sql, toUserId, fromUserId, afterId, limit));
  }

  waitingCount(toUserId: number, fromUserId: number, limit: number): Promise<number> {
    return this.#run((sql) => reads.waitingCount(sql, toUserId, fromUserId, limit));
  }

  history(userId: number, peerId: number, query: HistoryQuery): Promise<StoredMessage[]> {
    return this.#run((sql) => reads.history(sql, userId, peerId, query));
  }

  searchMessages(userId: number, peerId: number, query: SearchQuery): Promise<StoredMessage[]> {
    return this.#run((sql) => searchMessages(sql, userId, peerId, query));
  }

  recallMessage(request: RecallRequest): Promise<RecallOutcome> {
    return this.#run((sql) => recallMessage(sql, request));
  }

  async updateUser(userId: number, changes: UserChanges): Promise<void> {
    await this.#run((sql) => app.updateUser(sql, userId, changes));
  }

  deleteUser(userId: number): Promise<{ messages: number } | null> {
    return this.#run((sql) => app.deleteUser(sql, userId));
  }

  async recordPresence(change: PresenceChange): Promise<void> {
    await this.#run((sql) => app.recordPresence(sql, change));
  }

  createApiKey(key: NewApiKey): Promise<boolean> {
    return this.#run((sql) => app.createApiKey(sql, key));
  }

  findApiKey(keyHash: string): Promise<ApiKeyRecord | null> {
    return this.#run((sql) => app.findApiKey(sql, keyHash));
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#run((sql) => app.listApiKeys(sql));
  }

  deleteApiKey(name: string): Promise<boolean> {
    return this.#run((sql) => app.deleteApiKey(sql, name));
  }

  claimWebhookEvents(request: ClaimRequest): Promise<ClaimedEvent[]> {
    return this.#run((sql) => app.claimWebhookEvents(sql, request));
  }

  settleWebhookEvent(seq: number, owner: string, outcome: EventOutcome): Promise<boolean> {
    return this.#run((sql) => app.settleWebhookEvent(sql, seq, owner, outcome));
  }

  webhookBacklog(): Promise<OutboxBacklog> {
    return this.#run((sql) => app.webhookBacklog(sql));
  }

  async ping(): Promise<void> {
    await this.#run((sql) => sql`SELECT 1`);
  }

  async probeWrite(at: number): Promise<void> {
    await this.#run((sql) =>
      sql`INSERT INTO write_probe (id, probed_at) VALUES (1, ${at})
          ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at`
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 5 });
  }

  // The pool would reconnect after `end()`; a closed repository fails instead, like SQLite's.
  #run<T>(query: (sql: postgres.Sql<{ int8: number }>) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("Repository is closed"));
    return query(this.#sql).catch((error) => {
      throw fromPostgresError(error);
    });
  }
}
