/**
 * The SQLite search indexer (issue 14): stored messages are indexed in batches behind a
 * watermark, off the path of the message; recalls and erasures before and after indexing leave
 * a consistent index; a restart indexes what was left; the migration from the trigger keeps
 * every stored message findable.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { migrate } from "../../lib/storage/sqlite_schema.ts";
import { SqliteSearchIndexer } from "../../lib/storage/sqlite_search_indexer.ts";
import { fromOldSqlite } from "./migration_support.ts";
import { waitFor, withTimeout } from "../support/wait.ts";
import type { Logger } from "../../lib/log.ts";

const FAST = { batchRows: 10, delayMs: 5 };

/** A migrated database in a temp dir with two users, for `body`. */
async function withDatabase(body: (db: DatabaseSync) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-indexer-" });
  const db = new DatabaseSync(`${dir}/chat.db`);
  try {
    migrate(db);
    db.exec(`INSERT INTO users (username, username_key, password_hash, created_at)
             VALUES ('Tom', 'tom', 'x', 0), ('Jack', 'jack', 'x', 0)`);
    await body(db);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function insertMessages(db: DatabaseSync, texts: readonly string[]): void {
  const insert = db.prepare(
    `INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at)
     VALUES (1, 2, ?, '2026-12-01 00:00:00', 0)`,
  );
  for (const text of texts) insert.run(text);
}

function watermark(db: DatabaseSync): number {
  return (db.prepare("SELECT indexed_upto AS upto FROM search_index_state").get() as {
    upto: number;
  }).upto;
}

/** The ids whose indexed text contains `text` (through the index alone). */
function matching(db: DatabaseSync, text: string): number[] {
  const rows = db.prepare(
    "SELECT rowid AS id FROM message_text WHERE message_text MATCH ? ORDER BY rowid",
  ).all(`"${text}"`) as { id: number }[];
  return rows.map((row) => row.id);
}

/**
 * FTS5's own check of the index against the messages: throws when they disagree (so only once
 * the indexer caught up: a row after the watermark is a difference too).
 */
function assertIndexConsistent(db: DatabaseSync): void {
  db.exec("INSERT INTO message_text (message_text, rank) VALUES ('integrity-check', 1)");
}

Deno.test("SqliteSearchIndexer: stored messages are indexed in batches, off the insert", async () => {
  await withDatabase(async (db) => {
    let commits = 0;
    const indexer = new SqliteSearchIndexer(db, () => commits++, FAST);
    try {
      insertMessages(db, Array.from({ length: 25 }, (_, i) => `apple ${i}`));
      assert.deepEqual(matching(db, "apple"), [], "the insert itself indexes nothing");
      indexer.inserted(25);
      await withTimeout(indexer.whenIdle(), "the indexer to catch up", 5000);
      assert.equal(watermark(db), 25);
      assert.equal(matching(db, "apple").length, 25);
      assert.equal(commits, 3, "batches of 10, 10 and 5 rows");
      assertIndexConsistent(db);
    } finally {
      indexer.stop();
    }
  });
});

Deno.test("SqliteSearchIndexer: catchUp indexes everything at once, for a search", async () => {
  await withDatabase(async (db) => {
    const indexer = new SqliteSearchIndexer(db, () => {}, { batchRows: 10, delayMs: 60_000 });
    try {
      insertMessages(db, Array.from({ length: 15 }, (_, i) => `pear ${i}`));
      indexer.inserted(15);
      indexer.catchUp();
      assert.equal(watermark(db), 15);
      assert.equal(matching(db, "pear").length, 15);
      await withTimeout(indexer.whenIdle(), "idle after the catch-up", 1000);
    } finally {
      indexer.stop();
    }
  });
});

Deno.test("SqliteSearchIndexer: recalls and erasures before and after indexing keep the index true", async () => {
  await withDatabase((db) => {
    const indexer = new SqliteSearchIndexer(db, () => {}, FAST);
    try {
      insertMessages(db, ["secret one", "secret two", "secret three"]);
      indexer.catchUp();
      // Ids 4-6 are stored after the watermark: not in the index yet.
      insertMessages(db, ["secret four", "secret five", "secret six"]);
      db.exec("UPDATE messages SET msg = '' WHERE id IN (1, 4)"); // recalled
      db.exec("DELETE FROM messages WHERE id IN (2, 5)"); // erased
      assert.deepEqual(matching(db, "secret"), [3]);
      indexer.catchUp();
      assertIndexConsistent(db);
      assert.deepEqual(matching(db, "secret"), [3, 6]);
    } finally {
      indexer.stop();
    }
  });
});

Deno.test("SqliteSearchIndexer: what was left unindexed (a crash) is indexed after the start", async () => {
  await withDatabase(async (db) => {
    insertMessages(db, ["left behind", "left too"]);
    const indexer = new SqliteSearchIndexer(db, () => {}, FAST);
    try {
      await withTimeout(indexer.whenIdle(), "the indexer to index the backlog", 5000);
      assert.deepEqual(matching(db, "left"), [1, 2]);
    } finally {
      indexer.stop();
    }
  });
});

Deno.test("SqliteRepository: the migration to the indexer keeps every indexed message findable", async () => {
  const before = 7;
  await fromOldSqlite(before, (old) => {
    old.exec(`INSERT INTO users (username, username_key, password_hash, created_at)
              VALUES ('Tom', 'tom', 'x', 0), ('Jack', 'jack', 'x', 0)`);
    insertMessages(old, ["old news", "older news"]);
  }, async (repo) => {
    const found = await repo.searchMessages(1, 2, { text: "news", limit: 10 });
    assert.deepEqual(found.map((m) => m.msg), ["older news", "old news"]);
    const recalled = await repo.recallMessage({ messageId: 1, senderId: 1, notBefore: 0, at: 1 });
    assert.equal(recalled.kind, "recalled");
    const after = await repo.searchMessages(1, 2, { text: "news", limit: 10 });
    assert.deepEqual(after.map((m) => m.msg), ["older news"]);
  });
});

Deno.test("SqliteSearchIndexer: a failing batch is logged once, retried, and its recovery logged", async () => {
  await withDatabase(async (db) => {
    const events: string[] = [];
    const log: Logger = {
      info: (event) => events.push(event),
      warn: (event) => events.push(event),
      error: (event) => events.push(event),
    };
    db.exec("PRAGMA busy_timeout = 0");
    // Another connection holds the write lock: every batch fails as busy until it lets go.
    const other = new DatabaseSync(db.location()!);
    other.exec("BEGIN IMMEDIATE");
    const indexer = new SqliteSearchIndexer(db, () => {}, FAST, log);
    try {
      other.exec(
        "INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at) " +
          "VALUES (1, 2, 'held', '2026-12-01 00:00:00', 0)",
      );
      indexer.inserted(1);
      await waitFor(() => events.length > 0, "the failure to be logged");
      // Retried every delayMs while the lock is held; give it ten periods: still one line.
      const since = Date.now();
      await waitFor(() => Date.now() - since >= 10 * FAST.delayMs, "ten retry periods");
      assert.deepEqual(events, ["search.index_failed"]);
      other.exec("COMMIT");
      await withTimeout(indexer.whenIdle(), "the indexer to recover", 5000);
      assert.deepEqual(events, ["search.index_failed", "search.index_recovered"]);
      assert.deepEqual(matching(db, "held"), [1]);
    } finally {
      indexer.stop();
      if (other.isTransaction) other.exec("ROLLBACK");
      other.close();
    }
  });
});
