/**
 * Durable commits without blocking the event loop. The SQLite connection runs with
 * `synchronous=NORMAL` (a commit writes its frames to the WAL file but does not sync it), and this
 * syncs the WAL file itself, off the main thread (`FsFile.syncData`, on the runtime's blocking
 * thread pool). That is what `synchronous=FULL` does in WAL mode, a sync of the WAL after each
 * commit, with the wait moved off the event loop. The repository settles nothing before
 * `durable()` resolves, so no message is acknowledged, delivered or read back before every commit
 * up to it is on disk. Syncs coalesce: commits made while one runs share the next.
 */

/** Syncs a WAL file after commits; `null` path: nothing to sync (an in-memory database). */
export class WalSync {
  readonly #path: string | null;
  #file: Deno.FsFile | null = null;
  // Commits made, and how many of them the last finished sync covers.
  #committed = 0;
  #synced = 0;
  #running: Promise<void> | null = null;

  constructor(walPath: string | null) {
    this.#path = walPath;
  }

  /** Whether every commit so far is on disk. */
  get clean(): boolean {
    return this.#synced >= this.#committed;
  }

  /** A transaction was committed (or a statement auto-committed) on the connection. */
  committed(): void {
    if (this.#path !== null) this.#committed++;
  }

  /** Resolves once every commit made so far is on disk; rejects if a sync fails. */
  async durable(): Promise<void> {
    const target = this.#committed;
    while (this.#synced < target) {
      this.#running ??= this.#syncNow();
      await this.#running;
    }
  }

  /** Waits for a running sync and closes the file. */
  async close(): Promise<void> {
    await this.#running?.catch(() => {});
    this.#file?.close();
    this.#file = null;
  }

  async #syncNow(): Promise<void> {
    const covers = this.#committed;
    try {
      this.#file ??= await Deno.open(this.#path!, { read: true });
      await this.#file.syncData();
      this.#synced = Math.max(this.#synced, covers);
    } finally {
      this.#running = null;
    }
  }
}
