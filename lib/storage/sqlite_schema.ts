/**
 * The SQLite schema as numbered migrations. `PRAGMA user_version` records the last one
 * applied; each runs in its own transaction, so a crash leaves the file at a whole version.
 */
import type { DatabaseSync } from "node:sqlite";

const MIGRATIONS: readonly string[] = [
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
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database up to `SCHEMA_VERSION`; refuses a file written by newer code. */
export function migrate(db: DatabaseSync): void {
  const current = (db.prepare("PRAGMA user_version").get() as { user_version: number })
    .user_version;
  if (current > SCHEMA_VERSION) {
    throw new RangeError(
      `Database schema version ${current} is newer than this server's ${SCHEMA_VERSION}`,
    );
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version - 1]);
      db.exec(`PRAGMA user_version = ${version}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}
