/**
 * Which PostgreSQL failures are transient: the server or the way to it cannot serve now, but a
 * retry of the same request may succeed. These become `StorageUnavailableError` (503 with
 * `Retry-After` on HTTP, 30011 on a chat socket, whose retry with the same client id stores the
 * message once); everything else (a constraint, a bug in a statement, a closed repository) is
 * thrown as it is, answered 500.
 *
 * Server errors, by SQLSTATE:
 *
 *   08xxx  connection exception (the connection failed or was lost), except 08P01, a protocol
 *          violation, which is a bug on one side rather than a fault that passes.
 *   53xxx  insufficient resources: disk full (53100), out of memory (53200), too many
 *          connections (53300), a configured limit reached (53400).
 *   57P01  admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up or in
 *          recovery), 57P05 idle session timeout: the server is restarting or dropped the
 *          session; the pool opens a new connection for the retry. Not 57P04 (the database was
 *          dropped), which no retry mends.
 *   57014  query canceled, which is how `statement_timeout` ends a statement: the server was
 *          too slow now. Nothing in this service cancels its own queries otherwise.
 *   55P03  lock not available: `lock_timeout` (or NOWAIT) gave up on a lock another session
 *          holds, as SQLite's busy timeout does.
 *   40001  serialization failure and 40P01 deadlock detected: the transaction was rolled back
 *          whole, and running it again is the documented remedy.
 *   58030  I/O error, as SQLite's IOERR.
 *
 * Not mapped: 25006 (read-only transaction, as on a standby after a failover): the pool keeps
 * its connection to the standby, so a retry would fail the same way until it is replaced.
 *
 * Client errors of `npm:postgres` and of the socket: the connection closed under a query
 * (CONNECTION_CLOSED), did not open in time (CONNECT_TIMEOUT), was refused, reset, timed out, or
 * the host or network could not be reached. Not CONNECTION_ENDED or CONNECTION_DESTROYED: those
 * come from closing the repository, which no retry undoes.
 */
import postgres from "npm:postgres@3.4.9";
import { StorageUnavailableError } from "./errors.ts";

const TRANSIENT_CLASSES = new Set(["08", "53"]);
const NOT_TRANSIENT_IN_CLASS = new Set(["08P01"]);
const TRANSIENT_STATES = new Set([
  "57P01",
  "57P02",
  "57P03",
  "57P05",
  "57014",
  "55P03",
  "40001",
  "40P01",
  "58030",
]);
const TRANSIENT_CLIENT_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** Whether a SQLSTATE names a transient failure (see the table above). */
export function isTransientSqlState(state: string): boolean {
  if (TRANSIENT_STATES.has(state)) return true;
  return TRANSIENT_CLASSES.has(state.slice(0, 2)) && !NOT_TRANSIENT_IN_CLASS.has(state);
}

/** Whether `error`, thrown by a query, is one of PostgreSQL's transient failures. */
export function isTransientPostgresError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  // A server error carries a SQLSTATE; the client's and the socket's carry names.
  if (error instanceof postgres.PostgresError) return isTransientSqlState(code);
  return TRANSIENT_CLIENT_CODES.has(code);
}

/** A transient PostgreSQL failure as `StorageUnavailableError` (with it as `cause`); others as they are. */
export function fromPostgresError(error: unknown): unknown {
  if (!isTransientPostgresError(error)) return error;
  const { code, message } = error as Error & { code: string };
  return new StorageUnavailableError(`PostgreSQL cannot serve now (${code}): ${message}`, {
    cause: error,
  });
}
