/**
 * Keeps the SQLite search index (`message_text`, sqlite_search.ts) current off the path of a
 * message: a message is stored without touching the index, and the indexer adds what was stored
 * after the watermark (`search_index_state.indexed_upto`) in batches of up to `batchRows` rows
 * per transaction, `delayMs` after the first unindexed insert or at once when a batch is full.
 * An FTS5 insert costs about a third as much per row in a batch of 1,000 as in a group commit's
 * handful (`bench/search_index_probe.ts`), and none of it holds a sender's answer. A search first catches up (`catchUp`), so it
 * always sees every stored message; the triggers that remove a recalled or erased text from the
 * index act only on rows at or below the watermark (the rest are not in it yet). The watermark
 * and the rows it covers commit together, so after a crash the indexer resumes where it was.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { errorMessage, type Logger } from "../log.ts";

/** The migration that moves indexing from the insert trigger to the indexer. */
export const SQLITE_SEARCH_INDEXER_MIGRATION = `
  CREATE TABLE search_index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
  ) STRICT;
  INSERT INTO search_index_state (id, indexed_upto) SELECT 1, coalesce(max(id), 0) FROM messages;
  DROP TRIGGER message_text_insert;
  DROP TRIGGER message_text_delete;
  DROP TRIGGER message_text_update;
  CREATE TRIGGER message_text_delete AFTER DELETE ON messages
  WHEN old.id <= (SELECT indexed_upto FROM search_index_state) BEGIN
    INSERT INTO message_text (message_text, rowid, msg) VALUES ('delete', old.id, old.msg);
  END;
  CREATE TRIGGER message_text_update AFTER UPDATE OF msg ON messages
  WHEN old.id <= (SELECT indexed_upto FROM search_index_state) BEGIN
    INSERT INTO message_text (message_text, rowid, msg) VALUES ('delete', old.id, old.msg);
    INSERT INTO message_text (rowid, msg) VALUES (new.id, new.msg);
  END;
`;

/** The last id of the next batch after the watermark (null: nothing to index), and its size. */
interface BatchEnd {
  upto: number | null;
  rows: number;
}

/** How the indexer paces itself. */
export interface IndexerOptions {
  /** Rows indexed in one transaction at most (and the backlog that starts one at once). */
  readonly batchRows: number;
  /** How long a smaller backlog waits before it is indexed (ms). */
  readonly delayMs: number;
}

export const DEFAULT_INDEXER_OPTIONS: IndexerOptions = { batchRows: 1000, delayMs: 200 };

/** Indexes stored messages for search in batches, behind a watermark. */
export class SqliteSearchIndexer {
  readonly #db: DatabaseSync;
  readonly #onCommitted: () => void;
  readonly #options: IndexerOptions;
  readonly #watermark: StatementSync;
  readonly #batchEnd: StatementSync;
  readonly #index: StatementSync;
  readonly #advance: StatementSync;
  #backlog = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDelay = 0;
  #idle = Promise.withResolvers<void>();
  readonly #log: Logger | undefined;
  #failing = false;

  /**
   * `onCommitted`: called after each commit of the indexer (for the WAL's sync). `log` hears the
   * first failure of a run of them (`search.index_failed`) and the recovery after it.
   */
  constructor(
    db: DatabaseSync,
    onCommitted: () => void,
    options = DEFAULT_INDEXER_OPTIONS,
    log?: Logger,
  ) {
    this.#db = db;
    this.#onCommitted = onCommitted;
    this.#options = options;
    this.#log = log;
    this.#watermark = db.prepare("SELECT indexed_upto AS upto FROM search_index_state");
    this.#batchEnd = db.prepare(
      `SELECT max(id) AS upto, count(*) AS rows
       FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)`,
    );
    this.#index = db.prepare(
      `INSERT INTO message_text (rowid, msg) SELECT id, msg FROM messages WHERE id > ? AND id <= ?`,
    );
    this.#advance = db.prepare("UPDATE search_index_state SET indexed_upto = ?");
    this.#idle.resolve();
    // What a crash left unindexed is indexed soon after the start.
    if (this.#unindexed()) this.inserted(1);
  }

  /** `count` messages were stored (in a transaction now committing): index them soon. */
  inserted(count: number): void {
    if (count <= 0) return;
    if (this.#backlog === 0 && this.#timer === undefined) this.#idle = Promise.withResolvers();
    this.#backlog += count;
    // Each is armed once: inserts never re-arm a timer that is already due as soon.
    if (this.#backlog >= this.#options.batchRows) {
      if (this.#timer === undefined || this.#timerDelay > 0) this.#schedule(0);
    } else if (this.#timer === undefined) this.#schedule(this.#options.delayMs);
  }

  /** Indexes everything stored so far, now (a search calls it first, outside any transaction). */
  catchUp(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Nothing waits (the usual case): a read, without taking the write lock.
    if (this.#unindexed()) {
      while (this.#indexBatch() > 0) { /* until the watermark reaches the last message */ }
    }
    this.#backlog = 0;
    this.#idle.resolve();
  }

  /** Resolves once every message noted so far is indexed (or the indexer stopped). */
  whenIdle(): Promise<void> {
    return this.#idle.promise;
  }

  /** Stops the timer; what is left unindexed is indexed after the next start. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#idle.resolve();
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timerDelay = delayMs;
    this.#timer = setTimeout(() => this.#tick(), delayMs);
  }

  /**
   * One batch per turn of the event loop: a batch of 1,000 rows holds the loop for a few
   * milliseconds (about 7 on the benchmark's machine), never the whole backlog at once.
   */
  #tick(): void {
    this.#timer = undefined;
    if (!this.#db.isOpen) return this.stop();
    let indexed;
    try {
      indexed = this.#indexBatch();
    } catch (error) {
      // Busy or failing storage: the rows stay after the watermark, and the next insert or
      // search tries again; a message is never lost by it, only found a little later.
      if (!this.#failing) this.#log?.error("search.index_failed", { error: errorMessage(error) });
      this.#failing = true;
      return this.#schedule(this.#options.delayMs);
    }
    if (this.#failing) this.#log?.info("search.index_recovered");
    this.#failing = false;
    this.#backlog = Math.max(0, this.#backlog - indexed);
    if (indexed >= this.#options.batchRows) return this.#schedule(0);
    this.#backlog = 0;
    this.#settle();
  }

  #settle(): void {
    if (this.#timer === undefined) this.#idle.resolve();
  }

  /** Indexes the next batch after the watermark in one transaction; how many rows. */
  #indexBatch(): number {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const from = (this.#watermark.get() as { upto: number }).upto;
      const { upto, rows } = this.#batchEnd.get(
        from,
        this.#options.batchRows,
      ) as unknown as BatchEnd;
      if (upto === null) {
        this.#db.exec("COMMIT");
        return 0;
      }
      this.#index.run(from, upto);
      this.#advance.run(upto);
      this.#db.exec("COMMIT");
      this.#onCommitted();
      return rows;
    } catch (error) {
      if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #unindexed(): boolean {
    const from = (this.#watermark.get() as { upto: number }).upto;
    return (this.#batchEnd.get(from, 1) as { upto: number | null }).upto !== null;
  }
}
