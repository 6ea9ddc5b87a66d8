/**
 * What the SQLite search index costs per message as a function of how many rows one transaction
 * indexes: the figure behind the indexer's batches (`lib/storage/sqlite_search_indexer.ts`).
 * Stores the messages first (not timed), then has the indexer index them in transactions of
 * `rows` rows and prints the time per message. A batch of 16 is what a group commit held when a
 * trigger indexed each insert; 1,000 is the indexer's batch.
 * Run: deno run --allow-read --allow-write --allow-env bench/search_index_probe.ts [messages]
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { migrate } from "../lib/storage/sqlite_schema.ts";
import { SqliteSearchIndexer } from "../lib/storage/sqlite_search_indexer.ts";

const BATCH_SIZES = [16, 100, 1000, 5000];

/** A migrated file in `dir` holding `count` stored, unindexed messages between two users. */
function storedMessages(dir: string, count: number): DatabaseSync {
  const db = new DatabaseSync(join(dir, "probe.db"));
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  migrate(db);
  db.exec(`INSERT INTO users (username, username_key, password_hash, created_at)
           VALUES ('Tom', 'tom', 'x', 0), ('Jack', 'jack', 'x', 0)`);
  const insert = db.prepare(
    `INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at)
     VALUES (1, 2, ?, '2026-12-01 12:00:00', 0)`,
  );
  db.exec("BEGIN");
  for (let i = 0; i < count; i++) insert.run(`${i}|lunch at ${i % 977} near the station?`);
  db.exec("COMMIT");
  return db;
}

/** Microseconds per message to index `count` messages in transactions of `rows`. */
async function indexCost(count: number, rows: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "chat-index-probe-" });
  const db = storedMessages(dir, count);
  try {
    const indexer = new SqliteSearchIndexer(db, () => {}, { batchRows: rows, delayMs: 60_000 });
    indexer.stop(); // Only the catch-up below indexes.
    const started = performance.now();
    indexer.catchUp();
    return ((performance.now() - started) * 1000) / count;
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? 100_000);
  for (const rows of BATCH_SIZES) {
    const micros = await indexCost(count, rows);
    console.log(
      `${String(rows).padStart(5)} rows a transaction: ${micros.toFixed(2)} µs a message`,
    );
  }
}
