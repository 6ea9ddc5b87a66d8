/**
 * Issue 12's measurement on PostgreSQL, as `delivery_cost.ts` on SQLite: microseconds per
 * delivery with the per-message `delivered` flag (what the service does), the flag plus a
 * per-conversation `delivered_upto` column, and that cursor alone; and per stored message at
 * schema 5 and 6 (the conversation trigger). Each in a fresh schema of the test database
 * (`TEST_DATABASE_URL`, else postgres://postgres@127.0.0.1:5432/test), one statement per
 * transaction over one connection, 20 senders writing to one receiver.
 *
 *   deno run -A tools/delivery_cost_pg.ts [messages=3000]
 */
import postgres from "npm:postgres@3.4.9";
import { migrate } from "../lib/storage/postgres_schema.ts";
import { dropSchema, TEST_DATABASE_URL, testSchema } from "../tests/support/services.ts";

const COUNT = Number(Deno.args[0] ?? 3000);
const SENDERS = 20;

const FLAG = "UPDATE messages SET delivered = true WHERE id = ANY($1::bigint[]) AND NOT delivered";
const CURSOR = `UPDATE conversations c SET delivered_upto = d.upto
  FROM (SELECT to_user_id AS receiver, from_user_id AS sender, max(id) AS upto
        FROM messages WHERE id = ANY($1::bigint[]) GROUP BY to_user_id, from_user_id) AS d
  WHERE c.user_id = d.receiver AND c.peer_id = d.sender AND c.delivered_upto < d.upto`;

/** Runs `body` on a fresh schema at `version`, with its receiver and senders. */
async function withSchema<T>(
  version: number,
  body: (sql: postgres.Sql, receiver: number, senders: number[]) => Promise<T>,
): Promise<T> {
  const schema = testSchema();
  const sql = postgres(TEST_DATABASE_URL, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema },
  });
  try {
    await migrate(sql, schema, version);
    const ids: number[] = [];
    for (const name of ["r", ...Array.from({ length: SENDERS }, (_, i) => `s${i}`)]) {
      const [{ id }] = await sql<{ id: number }[]>`
        INSERT INTO users (username, username_key, password_hash, created_at)
        VALUES (${name}, ${name}, 'x', 0) RETURNING id::int AS id`;
      ids.push(id);
    }
    return await body(sql, ids[0], ids.slice(1));
  } finally {
    await sql.end({ timeout: 1 });
    await dropSchema(schema);
  }
}

async function insertAll(sql: postgres.Sql, receiver: number, senders: number[]) {
  const ids: number[] = [];
  const started = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const [{ id }] = await sql<{ id: number }[]>`
      INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at)
      VALUES (${senders[i % SENDERS]}, ${receiver}, ${`message ${i} `.repeat(4)},
              '2026-12-01 10:00:00', 0)
      RETURNING id::int AS id`;
    ids.push(id);
  }
  return { ids, microseconds: ((performance.now() - started) * 1000) / COUNT };
}

async function deliveries(statements: string[]): Promise<number> {
  return await withSchema(6, async (sql, receiver, senders) => {
    await sql`ALTER TABLE conversations ADD COLUMN delivered_upto bigint NOT NULL DEFAULT 0`;
    const { ids } = await insertAll(sql, receiver, senders);
    const started = performance.now();
    for (const id of ids) {
      if (statements.length === 1) await sql.unsafe(statements[0], [[id]]);
      else {
        await sql.begin(async (tx) => {
          for (const statement of statements) await tx.unsafe(statement, [[id]]);
        });
      }
    }
    return ((performance.now() - started) * 1000) / ids.length;
  });
}

console.log(`${COUNT} deliveries on PostgreSQL`);
for (
  const [name, statements] of [["flag", [FLAG]], ["flag+cursor", [FLAG, CURSOR]], [
    "cursor",
    [CURSOR],
  ]] as const
) {
  console.log(
    `${name.padEnd(12)} ${(await deliveries([...statements])).toFixed(1)} µs per delivery`,
  );
}
for (const version of [5, 6]) {
  const cost = await withSchema(
    version,
    async (sql, receiver, senders) => (await insertAll(sql, receiver, senders)).microseconds,
  );
  console.log(`insert v${version}    ${cost.toFixed(1)} µs per message`);
}
