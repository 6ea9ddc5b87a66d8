/**
 * Checkpoints off the event loop. A connection in WAL mode normally checkpoints when a commit
 * finds the WAL past 1,000 pages, inside that commit, with two disk syncs on the committing
 * thread. The repository's connection turns that off (`wal_autocheckpoint = 0`), and this runs
 * passive checkpoints on a Worker with its own connection (`wal_checkpoint_worker.ts`) instead.
 */

/** How often the Worker copies the WAL into the database. */
export const CHECKPOINT_INTERVAL_MS = 200;

/** A Worker that checkpoints one database file until stopped. */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #stopped = Promise.withResolvers<void>();
  #failures = 0;

  constructor(path: string, busyTimeoutMs: number, intervalMs = CHECKPOINT_INTERVAL_MS) {
    this.#worker = new Worker(new URL("./wal_checkpoint_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent<string>) => {
      if (event.data === "stopped") this.#stopped.resolve();
      else if (event.data.startsWith("checkpoint failed")) this.#failures++;
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failures++;
      this.#stopped.resolve();
    };
    this.#worker.postMessage({ path, intervalMs, busyTimeoutMs });
  }

  /** Checkpoints that failed so far (each is retried by the next round). */
  get failures(): number {
    return this.#failures;
  }

  /** Runs a last checkpoint, closes the Worker's connection and ends it. */
  async stop(): Promise<void> {
    this.#worker.postMessage("stop");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, 5000));
    await Promise.race([this.#stopped.promise, late]);
    clearTimeout(timer);
    this.#worker.terminate();
  }
}
