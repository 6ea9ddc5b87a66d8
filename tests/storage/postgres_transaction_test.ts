import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import { inTransaction, type PgSql } from "../../lib/storage/postgres_transaction.ts";
import {
  dropSchema,
  servicesReachable,
  TEST_DATABASE_URL,
  testSchema,
} from "../support/services.ts";

const reachable = await servicesReachable(["postgres"], "the PostgreSQL transaction test");

Deno.test({
  name: "inTransaction commits what resolves, rolls back what throws, and holds under load",
  ignore: !reachable,
  async fn() {
    const schema = testSchema();
    // Few connections, so transactions meet busy connections.
    const sql = postgres(TEST_DATABASE_URL, { max: 3, onnotice: () => {} }) as unknown as PgSql;
    try {
      await sql.unsafe(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".t (v int)`);
      const table = sql(`${schema}.t`);
      await inTransaction(sql, async (tx) => {
        await tx`INSERT INTO ${table} VALUES (1)`;
      });
      await assert.rejects(
        inTransaction(sql, async (tx) => {
          await tx`INSERT INTO ${table} VALUES (2)`;
          throw new Error("changed my mind");
        }),
        /changed my mind/,
      );
      const busy = [1, 2, 3].map(() => sql`SELECT pg_sleep(0.05)`);
      const inserts = Array.from({ length: 8 }, (_, i) =>
        inTransaction(sql, async (tx) => {
          const [first] = await tx`SELECT txid_current() AS id`;
          await tx`INSERT INTO ${table} VALUES (${10 + i})`;
          const [second] = await tx`SELECT txid_current() AS id`;
          assert.equal(first.id, second.id, "the statements ran in one transaction");
        }));
      await Promise.all([...busy, ...inserts]);
      const rows = await sql`SELECT v FROM ${table} ORDER BY v`;
      assert.deepEqual(rows.map((row) => row.v), [1, 10, 11, 12, 13, 14, 15, 16, 17]);
    } finally {
      await sql.end({ timeout: 1 });
      await dropSchema(schema);
    }
  },
});
