/**
 * The SQLite repository's writes and reads in order with its commits: a group commit of the
 * writes queued in one turn of the event loop, and every answer held until the commits before it
 * are on disk (`WalSync`).
 */
import type { DatabaseSync } from "node:sqlite";
import { fromSqliteError } from "./sqlite_errors.ts";
import type { WalSync } from "./wal_sync.ts";

interface PendingWrite {
  run(): unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The group commit and the durability of answers, over one connection. */
export class SqliteWriteQueue {
  readonly #db: DatabaseSync;
  readonly #walSync: WalSync;
  #pending: PendingWrite[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(db: DatabaseSync, walSync: WalSync) {
    this.#db = db;
    this.#walSync = walSync;
  }

  /**
   * Group commit: writes queued in one turn of the event loop share one transaction, so one
   * sync to disk covers them all. Each write's promise settles once its transaction committed;
   * if the transaction fails, every write in it fails and none of them is stored.
   */
  write<T>(work: () => T): Promise<T> {
    if (!this.#db.isOpen) return Promise.reject(new Error("The database is closed"));
    const done = Promise.withResolvers<T>();
    this.#pending.push({
      run: work,
      resolve: done.resolve as (value: unknown) => void,
      reject: done.reject,
    });
    this.#flushTimer ??= setTimeout(() => this.commitPending(), 0);
    return done.promise;
  }

  /** Commits the writes queued so far in one transaction (at once, without waiting for the turn). */
  commitPending(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const results: unknown[] = [];
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      for (const write of batch) results.push(write.run());
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec("ROLLBACK");
      const failure = fromSqliteError(error);
      for (const write of batch) write.reject(failure);
      return;
    }
    this.#walSync.committed();
    const settle = () => batch.forEach((write, i) => write.resolve(results[i]));
    if (this.#walSync.clean) settle();
    else {
      this.#walSync.durable().then(settle, (error) => {
        const failure = fromSqliteError(error);
        for (const write of batch) write.reject(failure);
      });
    }
  }

  /**
   * node:sqlite is synchronous; the interface is async for engines that are not. `wrote`: the
   * work auto-committed a change. Whatever it returns is settled once every commit so far is
   * on disk, so nothing is read back (or answered) that a power loss could still take away.
   */
  attempt<T>(work: () => T, wrote = false): Promise<T> {
    try {
      const value = work();
      if (wrote) this.#walSync.committed();
      return this.durable(value);
    } catch (error) {
      return Promise.reject(fromSqliteError(error));
    }
  }

  /** `value`, once every commit so far is on disk. */
  durable<T>(value: T): Promise<T> {
    if (this.#walSync.clean) return Promise.resolve(value);
    return this.#walSync.durable().then(() => value, (error) => {
      throw fromSqliteError(error);
    });
  }
}
