/**
 * Transactions on PostgreSQL, on a connection reserved for them.
 *
 * Not `sql.begin`: postgres.js 3.4.9 can write a transaction's `BEGIN` without reserving its
 * connection when that `BEGIN` fills the connection's pipeline (porsager/postgres#1189, #823);
 * other queries then run inside the open transaction, or the driver fails the transaction with
 * `UNSAFE_TRANSACTION`. Under the bench's cluster load that lost and reordered messages. A
 * reserved connection carries no other query, so its `BEGIN` ... `COMMIT` is safe.
 */
import type postgres from "npm:postgres@3.4.9";

/** The pool, with `int8` read as a number. */
export type PgSql = postgres.Sql<{ int8: number }>;
/** The connection a transaction runs on. */
export type PgTransaction = postgres.ReservedSql<{ int8: number }>;

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(
  sql: PgSql,
  work: (tx: PgTransaction) => Promise<T>,
): Promise<T> {
  const tx = await sql.reserve();
  try {
    await tx`BEGIN`;
    let result: T;
    try {
      result = await work(tx);
    } catch (error) {
      // A lost connection cannot roll back; the server ends its transaction with it.
      await tx`ROLLBACK`.catch(() => {});
      throw error;
    }
    await tx`COMMIT`;
    return result;
  } finally {
    tx.release();
  }
}
