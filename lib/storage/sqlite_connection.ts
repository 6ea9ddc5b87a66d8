/**
 * Opens the SQLite file for the repository: the connection's pragmas (busy timeout, foreign keys,
 * synchronous, secure delete), the migration, then WAL mode, whose syncs and checkpoints are
 * kept off the event loop.
 */
import { DatabaseSync } from "node:sqlite";
import type { IndexerOptions } from "./sqlite_search_indexer.ts";
import type { Logger } from "../log.ts";
import { migrate } from "./sqlite_schema.ts";
import { WalSync } from "./wal_sync.ts";
import { WalCheckpointer } from "./wal_checkpointer.ts";

/** Options of the SQLite repository; `main.ts` passes them from `Config`. */
export interface SqliteOptions {
  /** `FULL` syncs every commit; `NORMAL` may lose the last commits on power loss. */
  readonly synchronous: "FULL" | "NORMAL";
  /** How long a write waits for a lock held by another connection, in ms. */
  readonly busyTimeoutMs: number;
  /** How the search indexer batches (tests); absent: `DEFAULT_INDEXER_OPTIONS`. */
  readonly indexer?: IndexerOptions;
  /** Where the search indexer reports a failure of its background work; absent: nowhere. */
  readonly log?: Logger;
}

/** Whether `path` names a database without a file (and so without a WAL to sync). */
export function inMemory(path: string): boolean {
  return path === "" || path === ":memory:";
}

/**
 * Opens the file with the options' settings and migrates it; closes it again on failure. With
 * `FULL` on a file, the connection itself runs `NORMAL` and `WalSync` syncs the WAL after each
 * commit, off the event loop, before anything is settled: the same guarantee without the wait.
 */
export function openDatabase(path: string, options: SqliteOptions): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    db.exec("PRAGMA foreign_keys = ON");
    db.exec(`PRAGMA synchronous = ${inMemory(path) ? options.synchronous : "NORMAL"}`);
    // Deleted or overwritten text is zeroed in the file, not just unlinked: a recalled or erased
    // message leaves no readable copy in free pages.
    db.exec("PRAGMA secure_delete = ON");
    // Migrate before switching to WAL: a file from a newer server is refused untouched.
    migrate(db);
    db.exec("PRAGMA journal_mode = WAL");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** What keeps the WAL of an open database: its syncs and its checkpoints, off the event loop. */
export interface WalKeeping {
  /** Syncs the WAL after each commit (a no-op one without a file or with `NORMAL`). */
  readonly sync: WalSync;
  /** Checkpoints on a Worker; `null` without a file. */
  readonly checkpointer: WalCheckpointer | null;
}

/** Sets up the WAL's syncs and checkpoints for the database `openDatabase` opened at `path`. */
export function keepWal(db: DatabaseSync, path: string, options: SqliteOptions): WalKeeping {
  const syncsWal = options.synchronous === "FULL" && !inMemory(path);
  const sync = new WalSync(syncsWal ? `${path}-wal` : null);
  // Checkpoints (and their syncs) on a Worker, not inside a commit on the event loop.
  if (!inMemory(path)) db.exec("PRAGMA wal_autocheckpoint = 0");
  const checkpointer = inMemory(path) ? null : new WalCheckpointer(path, options.busyTimeoutMs);
  return { sync, checkpointer };
}
