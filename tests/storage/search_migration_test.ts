/**
 * The migration that adds search (issue 12) keeps every stored message and indexes it, on SQLite
 * and PostgreSQL: messages stored by the schema before it are found afterwards.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import postgres from "npm:postgres@3.4.9";
import { migrate as migrateSqlite, SCHEMA_VERSION } from "../../lib/storage/sqlite_schema.ts";
import {
  migrate as migratePostgres,
  PG_SCHEMA_VERSION,
} from "../../lib/storage/postgres_schema.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { PostgresRepository } from "../../lib/storage/postgres_repository.ts";
import type { Repository } from "../../lib/storage/repository.ts";
import { postgresOptions, sqliteOptions } from "../support/backend_options.ts";
import {
  dropSchema,
  servicesReachable,
  TEST_DATABASE_URL,
  testSchema,
} from "../support/services.ts";

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
  const dir = await Deno.makeTempDir({ prefix: "chat-search-migration-" });
  const path = `${dir}/chat.db`;
  try {
    const old = new DatabaseSync(path);
    migrateSqlite(old, SCHEMA_VERSION - 1);
    for (const statement of OLD_ROWS) old.exec(statement);
    old.close();
    const repo = new SqliteRepository(path, sqliteOptions());
    try {
      await assertOldRowsFound(repo);
    } finally {
      await repo.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "PostgresRepository: the search migration indexes the messages stored before it",
  ignore: !reachable,
  async fn() {
    const schema = testSchema();
    const sql = postgres(TEST_DATABASE_URL, {
      max: 1,
      onnotice: () => {},
      connection: { search_path: schema },
    });
    try {
      await migratePostgres(sql, schema, PG_SCHEMA_VERSION - 1);
      for (const statement of OLD_ROWS) {
        await sql.unsafe(statement);
      }
      const repo = await PostgresRepository.open({
        ...postgresOptions(TEST_DATABASE_URL, schema),
        poolSize: 2,
      });
      try {
        await assertOldRowsFound(repo);
        const [index] = await sql<{ indexdef: string }[]>`
          SELECT indexdef FROM pg_indexes
          WHERE schemaname = ${schema} AND indexname = 'messages_text_trgm'`;
        assert.match(index.indexdef, /USING gin \(msg .*gin_trgm_ops\)/);
      } finally {
        await repo.close();
      }
    } finally {
      await sql.end({ timeout: 1 });
      await dropSchema(schema);
    }
  },
});
