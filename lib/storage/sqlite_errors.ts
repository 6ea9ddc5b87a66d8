/**
 * Which SQLite failures are transient: the database is busy or locked by another connection,
 * the disk is full, or I/O failed. A retry may succeed once the other writer is done or space is
 * freed, so these become `StorageUnavailableError`; anything else (a constraint, a bug in a
 * statement, a closed database) is thrown as it is.
 */
import { StorageUnavailableError } from "./errors.ts";

// Primary result codes (the low byte of an extended code): BUSY, LOCKED, IOERR, FULL. Node's
// `node:sqlite` sets them as `errcode`; Deno's (2.9) gives only the message, matched below.
const TRANSIENT_CODES = new Set([5, 6, 10, 13]);

// sqlite3_errstr() of the same codes, as they start the message.
const TRANSIENT_MESSAGE =
  /database is locked|database (?:table|schema) is locked|database or disk is full|disk I\/O error/i;

/** Whether `error` is one of SQLite's transient failures (busy, locked, full, I/O). */
export function isTransientSqliteError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { errcode?: unknown }).errcode;
  if (typeof code === "number") return TRANSIENT_CODES.has(code & 0xff);
  return TRANSIENT_MESSAGE.test(error.message);
}

/** A transient SQLite failure as `StorageUnavailableError` (with it as `cause`); others as they are. */
export function fromSqliteError(error: unknown): unknown {
  if (!isTransientSqliteError(error)) return error;
  return new StorageUnavailableError(
    `SQLite cannot serve now: ${(error as Error).message}`,
    { cause: error },
  );
}
