/**
 * The PostgreSQL schema as numbered migrations, applied at start-up. Several nodes may start
 * at once: each takes a transaction-scoped advisory lock on the schema first, so exactly one
 * applies a migration and the others then find it recorded in `schema_migrations`.
 */
import type postgres from "npm:postgres@3.4.9";
import { lookalikeKeys } from "../users/lookalike.ts";
import { addSearchIndex } from "./postgres_search.ts";

/**
 * Each migration is a list of statements, run in order inside the migration transaction, or a
 * function for what SQL alone cannot compute.
 */
type Migration = readonly string[] | ((tx: postgres.TransactionSql) => Promise<void>);

/** 2: the look-alike keys of every user, computed for the users stored before them. */
async function addLookalikeKeys(tx: postgres.TransactionSql): Promise<void> {
  await tx.unsafe(`ALTER TABLE users ADD COLUMN skeleton_key text, ADD COLUMN folded_key text`);
  await tx.unsafe(`CREATE INDEX users_by_skeleton ON users (skeleton_key)`);
  await tx.unsafe(`CREATE INDEX users_by_folded ON users (folded_key)`);
  // Users who already look alike keep their names and accounts; only new ones are refused.
  const rows = await tx<{ id: number; username: string }[]>`SELECT id, username FROM users`;
  for (const { id, username } of rows) {
    const keys = lookalikeKeys(username);
    await tx`UPDATE users SET skeleton_key = ${keys.skeleton}, folded_key = ${keys.folded}
             WHERE id = ${id}`;
  }
}

const MIGRATIONS: readonly Migration[] = [
  // 1: users, tokens, messages.
  [
    `CREATE TABLE users (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      username text NOT NULL,
      username_key text NOT NULL UNIQUE,
      password_hash text NOT NULL,
      email text,
      created_at bigint NOT NULL
    )`,
    `CREATE TABLE tokens (
      token_hash text PRIMARY KEY,
      user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at bigint NOT NULL,
      expires_at bigint NOT NULL
    )`,
    `CREATE INDEX tokens_by_expiry ON tokens (expires_at)`,
    `CREATE INDEX tokens_by_user ON tokens (user_id)`,
    // An identity never hands out the same value twice, so clients may dedupe by id forever.
    `CREATE TABLE messages (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      from_user_id bigint NOT NULL REFERENCES users(id),
      to_user_id bigint NOT NULL REFERENCES users(id),
      msg text NOT NULL,
      send_time text NOT NULL,
      sent_at bigint NOT NULL,
      client_id text,
      delivered boolean NOT NULL DEFAULT false
    )`,
    `CREATE INDEX messages_by_pair ON messages (from_user_id, to_user_id, id)`,
    `CREATE UNIQUE INDEX messages_by_client_id
      ON messages (from_user_id, to_user_id, client_id) WHERE client_id IS NOT NULL`,
    `CREATE INDEX messages_waiting ON messages (to_user_id, from_user_id, id) WHERE NOT delivered`,
  ],
  addLookalikeKeys,
  // 3 (issue 13): when users were last seen, API keys of the admin API, the webhook outbox.
  [
    `ALTER TABLE users ADD COLUMN last_seen_at bigint`,
    `CREATE TABLE api_keys (
      name text PRIMARY KEY,
      key_hash text NOT NULL UNIQUE,
      created_at bigint NOT NULL
    )`,
    // Events wait here until the receiver answered 2xx (then the row goes) or they are too old
    // (state 'failed'). user_id orders them: each user's events are sent oldest first.
    `CREATE TABLE webhook_events (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      event_id text NOT NULL UNIQUE,
      type text NOT NULL,
      user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      peer_id bigint REFERENCES users(id) ON DELETE CASCADE,
      message_id bigint REFERENCES messages(id) ON DELETE CASCADE,
      created_at bigint NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at bigint NOT NULL,
      leased_until bigint NOT NULL DEFAULT 0,
      lease_owner text,
      state text NOT NULL DEFAULT 'pending',
      last_error text
    )`,
    `CREATE INDEX webhook_events_queue ON webhook_events (user_id, seq) WHERE state = 'pending'`,
    `CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE state = 'pending'`,
    `CREATE INDEX webhook_events_by_peer ON webhook_events (peer_id) WHERE peer_id IS NOT NULL`,
    `CREATE INDEX webhook_events_by_message ON webhook_events (message_id)
      WHERE message_id IS NOT NULL`,
  ],
  // 4 (issue 11): what each user stored on their last day of sending, for the daily quotas
  // (quota.ts); a newer day starts again from 0. It goes with the user.
  [
    `CREATE TABLE message_quota (
      user_id bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
      day integer NOT NULL,
      messages integer NOT NULL,
      bytes bigint NOT NULL
    )`,
  ],
  // 5 (issue 11): one row `/readyz` rewrites, so a database that can be read but not written
  // is reported down.
  [
    `CREATE TABLE write_probe (
      id integer PRIMARY KEY CHECK (id = 1),
      probed_at bigint NOT NULL
    )`,
  ],
  // 6 (issue 12): the state of each conversation, per owner and peer, as on SQLite: the last
  // message either way, the owner's unread count and read marker; a trigger keeps last message
  // and unread with every insert, in its transaction, locking the pair's two rows in
  // (user_id, peer_id) order so that messages both ways at once cannot deadlock. Existing
  // conversations start with what was delivered counted as read, and the rest as unread.
  [
    `CREATE TABLE conversations (
      user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      peer_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      last_message_id bigint NOT NULL,
      unread integer NOT NULL DEFAULT 0,
      read_upto bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (user_id, peer_id)
    )`,
    `CREATE INDEX conversations_by_activity ON conversations (user_id, last_message_id)`,
    `CREATE INDEX conversations_by_peer ON conversations (peer_id)`,
    `INSERT INTO conversations (user_id, peer_id, last_message_id, read_upto)
     SELECT owner, peer, max(id), max(CASE WHEN incoming AND delivered THEN id ELSE 0 END)
     FROM (SELECT from_user_id AS owner, to_user_id AS peer, id, false AS incoming, delivered
           FROM messages
           UNION ALL
           SELECT to_user_id, from_user_id, id, true, delivered FROM messages
           WHERE to_user_id <> from_user_id) AS both_ways
     GROUP BY owner, peer`,
    `UPDATE conversations c SET unread = (SELECT count(*) FROM messages m
       WHERE m.from_user_id = c.peer_id AND m.to_user_id = c.user_id AND m.id > c.read_upto)
     WHERE c.user_id <> c.peer_id`,
    `CREATE FUNCTION conversation_touch(owner bigint, peer bigint, message bigint, incoming int)
     RETURNS void LANGUAGE sql AS $$
       INSERT INTO conversations AS c (user_id, peer_id, last_message_id, unread)
       VALUES (owner, peer, message, incoming)
       ON CONFLICT (user_id, peer_id) DO UPDATE
         SET last_message_id = greatest(c.last_message_id, excluded.last_message_id),
             unread = c.unread + excluded.unread
     $$`,
    `CREATE FUNCTION messages_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.from_user_id = NEW.to_user_id THEN
         PERFORM conversation_touch(NEW.from_user_id, NEW.to_user_id, NEW.id, 0);
       ELSIF NEW.from_user_id < NEW.to_user_id THEN
         PERFORM conversation_touch(NEW.from_user_id, NEW.to_user_id, NEW.id, 0);
         PERFORM conversation_touch(NEW.to_user_id, NEW.from_user_id, NEW.id, 1);
       ELSE
         PERFORM conversation_touch(NEW.to_user_id, NEW.from_user_id, NEW.id, 1);
         PERFORM conversation_touch(NEW.from_user_id, NEW.to_user_id, NEW.id, 0);
       END IF;
       RETURN NULL;
     END $$`,
    `CREATE TRIGGER messages_conversation AFTER INSERT ON messages
     FOR EACH ROW EXECUTE FUNCTION messages_conversation()`,
  ],
  // 7 (issue 12): when a message was recalled (its text is then ""), and search in a
  // conversation (postgres_search.ts), built for the stored messages.
  async (tx) => {
    await tx.unsafe(`ALTER TABLE messages ADD COLUMN recalled_at bigint`);
    await addSearchIndex(tx, LOCK_CLASS);
  },
];

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** First key of every advisory lock this service takes ("CHAT" in ASCII). */
export const LOCK_CLASS = 0x43484154;

/**
 * Creates `schema` if needed and brings it up to `PG_SCHEMA_VERSION` (or `target`, for tests of
 * older schemas) in one transaction;
 * refuses a schema written by newer code. `sql` must have `schema` on its search path.
 */
export async function migrate(
  sql: postgres.Sql,
  schema: string,
  target: number = PG_SCHEMA_VERSION,
): Promise<void> {
  await sql.begin(async (tx) => {
    // Held until commit: a second node starting now waits here, then finds the work done.
    await tx`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${schema}))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.unsafe(`SET LOCAL search_path TO "${schema}"`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const [{ version }] = await tx<{ version: number }[]>`
      SELECT coalesce(max(version), 0)::integer AS version FROM schema_migrations`;
    if (version > PG_SCHEMA_VERSION) {
      throw new RangeError(
        `Database schema "${schema}" is at version ${version}, newer than this server's ${PG_SCHEMA_VERSION}`,
      );
    }
    for (let next = version + 1; next <= target; next++) {
      const migration = MIGRATIONS[next - 1];
      if (typeof migration === "function") await migration(tx);
      else for (const statement of migration) await tx.unsafe(statement);
      await tx`INSERT INTO schema_migrations (version) VALUES (${next})`;
    }
  });
}
