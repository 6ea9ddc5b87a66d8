/**
 * The checkpointer's Worker (`wal_checkpointer.ts`): its own connection to the database file,
 * copying the WAL into the database with passive checkpoints (which never block the writer), so
 * the disk syncs a checkpoint makes happen on this thread, not on the event loop.
 * Messages in: `{ path, intervalMs }` to start, `"stop"` to close the connection and end.
 */
import { DatabaseSync } from "node:sqlite";

interface Start {
  readonly path: string;
  readonly intervalMs: number;
  readonly busyTimeoutMs: number;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Start | "stop">) => void) | null;
  postMessage(message: string): void;
  close(): void;
};

/** The Worker's one connection and its timer. */
class Checkpoints {
  readonly #db: DatabaseSync;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor({ path, intervalMs, busyTimeoutMs }: Start) {
    this.#db = new DatabaseSync(path);
    this.#db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    // A checkpoint syncs the WAL before copying it and the database after, as FULL does.
    this.#db.exec("PRAGMA synchronous = FULL");
    this.#timer = setInterval(() => this.run(), intervalMs);
  }

  run(): void {
    try {
      this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (error) {
      // Busy or interrupted: the next round copies what this one could not.
      scope.postMessage(`checkpoint failed: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** A last checkpoint, then the connection closes. */
  stop(): void {
    clearInterval(this.#timer);
    this.run();
    this.#db.close();
  }
}

scope.onmessage = (event) => {
  const data = event.data;
  if (data !== "stop") {
    const checkpoints = new Checkpoints(data);
    scope.onmessage = (next) => {
      if (next.data !== "stop") return;
      checkpoints.stop();
      scope.postMessage("stopped");
      scope.close();
    };
    scope.postMessage("started");
    return;
  }
  scope.postMessage("stopped");
  scope.close();
};
