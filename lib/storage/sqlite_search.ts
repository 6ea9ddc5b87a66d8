/**
 * Search in a conversation on SQLite: an FTS5 index with the `trigram` tokenizer over the text of
 * every message (external content: the text is stored once, in `messages`), kept by the indexer
 * (`sqlite_search_indexer.ts`) for new messages and by triggers for recalled and erased ones.
 * Deletes use FTS5's `secure-delete`, so a recalled or erased text leaves the index at once
 * instead of lingering in old segments. A text of 3 or more characters is found through the index
 * (newest first, stopping at the page's last match of the pair); a shorter one by scanning the
 * pair's messages newest first (`search_text.ts`).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { MESSAGE_COLUMNS, MESSAGE_JOINS, type MessageRow, toMessage } from "./message_row.ts";
import { containsPattern, ftsPhrase, indexable } from "./search_text.ts";
import type { SearchQuery, StoredMessage } from "./repository.ts";

/** The migration that adds the index, builds it for the stored messages and keeps it current. */
export const SQLITE_SEARCH_MIGRATION = `
  CREATE VIRTUAL TABLE message_text USING fts5(
    msg, content = 'messages', content_rowid = 'id', tokenize = 'trigram case_sensitive 0'
  );
  INSERT INTO message_text (message_text, rank) VALUES ('secure-delete', 1);
  INSERT INTO message_text (message_text) VALUES ('rebuild');
  CREATE TRIGGER message_text_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_text (rowid, msg) VALUES (new.id, new.msg);
  END;
  CREATE TRIGGER message_text_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_text (message_text, rowid, msg) VALUES ('delete', old.id, old.msg);
  END;
  CREATE TRIGGER message_text_update AFTER UPDATE OF msg ON messages BEGIN
    INSERT INTO message_text (message_text, rowid, msg) VALUES ('delete', old.id, old.msg);
    INSERT INTO message_text (rowid, msg) VALUES (new.id, new.msg);
  END;
`;

// The messages of the pair (?1, ?2) in either direction.
const OF_PAIR = `((m.from_user_id = ?1 AND m.to_user_id = ?2)
                  OR (m.from_user_id = ?2 AND m.to_user_id = ?1))`;

/** The search statements, prepared once. */
export class SqliteSearch {
  readonly #indexed: StatementSync;
  readonly #scanned: StatementSync;
  readonly #scannedOwn: StatementSync;

  constructor(db: DatabaseSync) {
    // CROSS JOIN keeps the index outermost: matches come newest first, each checked against the
    // pair, and the scan ends at the page's last one.
    this.#indexed = db.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM message_text s CROSS JOIN messages m ON m.id = s.rowid
         ${MESSAGE_JOINS}
       WHERE message_text MATCH ?3 AND s.rowid < ?4 AND ${OF_PAIR}
       ORDER BY s.rowid DESC LIMIT ?5`,
    );
    // Both directions newest first through the pair index, merged, as history reads them.
    this.#scanned = db.prepare(
      `SELECT * FROM (
         SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
           WHERE m.from_user_id = ?1 AND m.to_user_id = ?2 AND m.id < ?4
             AND m.msg LIKE ?3 ESCAPE '\\' ORDER BY m.id DESC LIMIT ?5)
         UNION ALL
         SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
           WHERE m.from_user_id = ?2 AND m.to_user_id = ?1 AND m.id < ?4
             AND m.msg LIKE ?3 ESCAPE '\\' ORDER BY m.id DESC LIMIT ?5)
       ) ORDER BY id DESC LIMIT ?5`,
    );
    this.#scannedOwn = db.prepare(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m ${MESSAGE_JOINS}
       WHERE m.from_user_id = ?1 AND m.to_user_id = ?1 AND m.id < ?3
         AND m.msg LIKE ?2 ESCAPE '\\' ORDER BY m.id DESC LIMIT ?4`,
    );
  }

  /** The pair's messages containing `query.text`, newest first. */
  search(userId: number, peerId: number, query: SearchQuery): StoredMessage[] {
    const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
    const { text, limit } = query;
    let rows;
    if (indexable(text)) {
      rows = this.#indexed.all(userId, peerId, ftsPhrase(text), before, limit);
    } else if (userId === peerId) {
      rows = this.#scannedOwn.all(userId, containsPattern(text), before, limit);
    } else {
      rows = this.#scanned.all(userId, peerId, containsPattern(text), before, limit);
    }
    return (rows as unknown as MessageRow[]).map(toMessage);
  }
}
