/**
 * The migration that adds search (issue 12) keeps every stored message and indexes it, on SQLite
 * and PostgreSQL: messages stored by the schema before it are found afterwards.
 */
import assert from "node:assert/strict";
import { PG_SCHEMA_VERSION } from "../../lib/storage/postgres_schema.ts";
import type { Repository } from "../../lib/storage/repository.ts";
import { servicesReachable } from "../support/services.ts";
import { fromOldPostgres, fromOldSqlite } from "./migration_support.ts";

/** The SQLite schema version before search (7 added it). */
const SQLITE_BEFORE_SEARCH = 6;

const reachable = await servicesReachable(["postgres"], "the PostgreSQL search migration test");

// Rows as the schema before search stores them: two users and their conversation.
const OLD_ROWS = [
  `INSERT INTO users (username, username_key, password_hash, created_at)
   VALUES ('Tom', 'tom', 'x', 0), ('Jack', 'jack', 'x', 0)`,
  `INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at)
   VALUES (1, 2, '你好 Jack，在吗?', '2024-05-01 12:00:00', 0),
          (2, 1, 'Meeting at three', '2024-05-01 12:00:01', 0),
          (1, 2, 'the meeting moved', '2024-05-01 12:00:02', 0)`,
];

/** What a repository migrated over the old rows finds; every message is still there. */
async function assertOldRowsFound(repo: Repository): Promise<void> {
  const tom = await repo.findUser("tom");
  const jack = await repo.findUser("jack");
  assert.ok(tom !== null && jack !== null);
  const history = await repo.history(tom.id, jack.id, { limit: 10 });
  assert.equal(history.length, 3);
  const found = (text: string) => repo.searchMessages(jack.id, tom.id, { text, limit: 10 });
  assert.deepEqual((await found("MEETING")).map((m) => m.msg), [
    "the meeting moved",
    "Meeting at three",
  ]);
  assert.deepEqual((await found("你好")).map((m) => m.msg), ["你好 Jack，在吗?"]);
  assert.deepEqual((await found("jack，在吗")).map((m) => m.msg), ["你好 Jack，在吗?"]);
}

Deno.test("SqliteRepository: the search migration indexes the messages stored before it", async () => {
  await fromOldSqlite(SQLITE_BEFORE_SEARCH, (old) => {
    for (const statement of OLD_ROWS) old.exec(statement);
  }, assertOldRowsFound);
});

Deno.test({
  name: "PostgresRepository: the search migration indexes the messages stored before it",
  ignore: !reachable,
  async fn() {
    await fromOldPostgres(PG_SCHEMA_VERSION - 1, async (sql) => {
      for (const statement of OLD_ROWS) await sql.unsafe(statement);
    }, async (repo, sql, schema) => {
      await assertOldRowsFound(repo);
      const [index] = await sql<{ indexdef: string }[]>`
        SELECT indexdef FROM pg_indexes
        WHERE schemaname = ${schema} AND indexname = 'messages_text_trgm'`;
      assert.match(index.indexdef, /USING gin \(msg .*gin_trgm_ops\)/);
    });
  },
});
