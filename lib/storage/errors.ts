/** Storage failures a client can retry: the database is busy, locked, full or failing I/O. */

// SQLite primary result codes (the low byte of an extended code).
const SQLITE_TRANSIENT = new Set([5, /* BUSY */ 6, /* LOCKED */ 10, /* IOERR */ 13 /* FULL */]);

/** Whether `error` says the storage is temporarily unable to serve, rather than a bug. */
export function isStorageUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { errcode?: unknown }).errcode;
  if (typeof code === "number" && SQLITE_TRANSIENT.has(code & 0xff)) return true;
  return /database is locked|database or disk is full|disk I\/O error/i.test(error.message);
}

/**
 * The storage cannot serve now (busy, locked, full, connection lost) but may later: the HTTP
 * error path answers 503 with `Retry-After`, the chat session 30011. Each repository maps its own
 * engine's transient failures to this, as the hub does with `HubUnavailableError`.
 */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}
