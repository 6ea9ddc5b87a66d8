/**
 * The SQLite schema as numbered migrations. `PRAGMA user_version` records the last one
 * applied; each runs in its own transaction, so a crash leaves the file at a whole version.
 */
import type { DatabaseSync } from "node:sqlite";
import { lookalikeKeys } from "../users/lookalike.ts";
import { SQLITE_SEARCH_MIGRATION } from "./sqlite_search.ts";
import { SQLITE_SEARCH_INDEXER_MIGRATION } from "./sqlite_search_indexer.ts";
import { SQLITE_CONVERSATION_TALLY_MIGRATION } from "./sqlite_conversation_tally.ts";

/** A migration: SQL, or a function for what SQL alone cannot compute. */
type Migration = string | ((db: DatabaseSync) => void);

/** 2: the look-alike keys of every user, computed for the users stored before them. */
function addLookalikeKeys(db: DatabaseSync): void {
  db.exec(`
    ALTER TABLE users ADD COLUMN skeleton_key TEXT;
    ALTER TABLE users ADD COLUMN folded_key TEXT;
    CREATE INDEX users_by_skeleton ON users(skeleton_key);
    CREATE INDEX users_by_folded ON users(folded_key);
  `);
  // Users who already look alike keep their names and accounts; only new ones are refused.
  const update = db.prepare("UPDATE users SET skeleton_key = ?, folded_key = ? WHERE id = ?");
  const rows = db.prepare("SELECT id, username FROM users").all() as {
    id: number;
    username: string;
  }[];
  for (const { id, username } of rows) {
    const keys = lookalikeKeys(username);
    update.run(keys.skeleton, keys.folded, id);
  }
}

const MIGRATIONS: readonly Migration[] = [
  // 1: users, tokens, messages.
  `
  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email TEXT,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX tokens_by_expiry ON tokens(expires_at);

  -- AUTOINCREMENT: a message id is never reused, so clients may dedupe by it forever.
  CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    from_user_id INTEGER NOT NULL REFERENCES users(id),
    to_user_id INTEGER NOT NULL REFERENCES users(id),
    msg TEXT NOT NULL,
    send_time TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    client_id TEXT,
    delivered INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX messages_by_pair ON messages(from_user_id, to_user_id, id);
  CREATE UNIQUE INDEX messages_by_client_id
    ON messages(from_user_id, to_user_id, client_id) WHERE client_id IS NOT NULL;
  CREATE INDEX messages_waiting
    ON messages(to_user_id, from_user_id, id) WHERE delivered = 0;
  `,
  addLookalikeKeys,
  // 3 (issue 13): when users were last seen, API keys of the admin API, the webhook outbox.
  `
  ALTER TABLE users ADD COLUMN last_seen_at INTEGER;

  CREATE TABLE api_keys (
    name TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  ) STRICT;

  -- Events wait here until the receiver answered 2xx (then the row goes) or they are too old
  -- (state 'failed'). user_id orders them: each user's events are sent oldest first.
  CREATE TABLE webhook_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    peer_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    leased_until INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
  ) STRICT;
  CREATE INDEX webhook_events_queue ON webhook_events(user_id, seq) WHERE state = 'pending';
  CREATE INDEX webhook_events_due ON webhook_events(next_attempt_at) WHERE state = 'pending';
  CREATE INDEX webhook_events_by_peer ON webhook_events(peer_id) WHERE peer_id IS NOT NULL;
  CREATE INDEX webhook_events_by_message ON webhook_events(message_id)
    WHERE message_id IS NOT NULL;
  `,
  // 4 (issue 11): what each user stored on their last day of sending, for the daily quotas
  // (quota.ts); a newer day starts again from 0. It goes with the user.
  `
  CREATE TABLE message_quota (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    day INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    bytes INTEGER NOT NULL
  ) STRICT;
  `,
  // 5 (issue 11): one row `/readyz` rewrites, so a database that can be read but not written
  // (disk full, read-only file) is reported down.
  `
  CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probed_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 6 (issue 12): the state of each conversation, per owner and peer, so the list is one
  // indexed query: the last message either way, the owner's unread count and read marker. A
  // trigger keeps last message and unread with every insert, in its transaction. Existing
  // conversations start with what was delivered counted as read, and the rest as unread.
  `
  CREATE TABLE conversations (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    peer_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_message_id INTEGER NOT NULL,
    unread INTEGER NOT NULL DEFAULT 0,
    read_upto INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, peer_id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX conversations_by_activity ON conversations(user_id, last_message_id);
  CREATE INDEX conversations_by_peer ON conversations(peer_id);

  INSERT INTO conversations (user_id, peer_id, last_message_id, read_upto)
  SELECT owner, peer, max(id), max(CASE WHEN incoming AND delivered THEN id ELSE 0 END)
  FROM (SELECT from_user_id AS owner, to_user_id AS peer, id, 0 AS incoming, delivered
        FROM messages
        UNION ALL
        SELECT to_user_id, from_user_id, id, 1, delivered FROM messages
        WHERE to_user_id <> from_user_id)
  GROUP BY owner, peer;
  UPDATE conversations SET unread = (SELECT count(*) FROM messages
    WHERE from_user_id = conversations.peer_id AND to_user_id = conversations.user_id
      AND id > conversations.read_upto)
  WHERE user_id <> peer_id;

  CREATE TRIGGER messages_conversation AFTER INSERT ON messages BEGIN
    INSERT INTO conversations (user_id, peer_id, last_message_id)
    VALUES (NEW.from_user_id, NEW.to_user_id, NEW.id)
    ON CONFLICT (user_id, peer_id) DO UPDATE
      SET last_message_id = max(last_message_id, excluded.last_message_id);
    INSERT INTO conversations (user_id, peer_id, last_message_id, unread)
    SELECT NEW.to_user_id, NEW.from_user_id, NEW.id, 1 WHERE NEW.to_user_id <> NEW.from_user_id
    ON CONFLICT (user_id, peer_id) DO UPDATE
      SET last_message_id = max(last_message_id, excluded.last_message_id), unread = unread + 1;
  END;
  `,
  // 7 (issue 12): when a message was recalled (its text is then ""), and search in a
  // conversation (sqlite_search.ts), built for the stored messages.
  `ALTER TABLE messages ADD COLUMN recalled_at INTEGER; ${SQLITE_SEARCH_MIGRATION}`,
  // 8 (issue 14): the search index is kept by the indexer, in batches behind a watermark, not
  // by a trigger on every insert.
  SQLITE_SEARCH_INDEXER_MIGRATION,
  // 9 (issue 14): the conversations' rows are written once per save and direction, not by a
  // trigger on every insert.
  SQLITE_CONVERSATION_TALLY_MIGRATION,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database up to `SCHEMA_VERSION` (or `target`, for tests of older files); refuses a
 * file written by newer code.
 */
export function migrate(db: DatabaseSync, target: number = SCHEMA_VERSION): void {
  const current = (db.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  if (current > SCHEMA_VERSION) {
    throw new RangeError(
      `Database schema version ${current} is newer than this server's ${SCHEMA_VERSION}`,
    );
  }
  for (let version = current + 1; version <= target; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      const migration = MIGRATIONS[version - 1];
      if (typeof migration === "string") db.exec(migration);
      else migration(db);
      db.exec(`PRAGMA user_version = ${version}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}
