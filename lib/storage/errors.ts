/**
 * The storage failure a caller can act on. Each repository maps its own engine's transient
 * failures to it (`sqlite_errors.ts`, `postgres_errors.ts`); everything else stays as thrown.
 */

/**
 * The storage cannot serve now (busy, locked, full, connection lost) but may later: the HTTP
 * error path answers 503 with `Retry-After`, the chat session 30011. Each repository maps its own
 * engine's transient failures to this, as the hub does with `HubUnavailableError`; the engine's
 * error is kept as `cause`.
 */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageUnavailableError";
  }
}
