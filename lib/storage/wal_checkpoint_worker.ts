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

let db: DatabaseSync | null = null;
let timer: ReturnType<typeof setInterval> | undefined;

function checkpoint(): void {
  try {
    db?.exec("PRAGMA wal_checkpoint(PASSIVE)");
  } catch (error) {
    // Busy or interrupted: the next round copies what this one could not.
    scope.postMessage(`checkpoint failed: ${error instanceof Error ? error.message : error}`);
  }
}

scope.onmessage = (event) => {
  if (event.data === "stop") {
    clearInterval(timer);
    checkpoint();
    db?.close();
    db = null;
    scope.postMessage("stopped");
    scope.close();
    return;
  }
  const { path, intervalMs, busyTimeoutMs } = event.data;
  db = new DatabaseSync(path);
  db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  // A checkpoint syncs the WAL before copying it and the database after, as FULL does.
  db.exec("PRAGMA synchronous = FULL");
  timer = setInterval(checkpoint, intervalMs);
  scope.postMessage("started");
};
