/**
 * What the migration tests share: a database written by an older schema version, seeded with
 * rows, then opened by the repository of today (which migrates it) and checked.
 */
import { DatabaseSync } from "node:sqlite";
import postgres from "npm:postgres@3.4.9";
import { migrate as migrateSqlite } from "../../lib/storage/sqlite_schema.ts";
import { migrate as migratePostgres } from "../../lib/storage/postgres_schema.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { PostgresRepository } from "../../lib/storage/postgres_repository.ts";
import type { Repository } from "../../lib/storage/repository.ts";
import { postgresOptions, sqliteOptions } from "../support/backend_options.ts";
import { dropSchema, TEST_DATABASE_URL, testSchema } from "../support/services.ts";

/** A SQLite file at schema `version`, seeded by `seed`, opened (and migrated) for `check`. */
export async function fromOldSqlite(
  version: number,
  seed: (db: DatabaseSync) => void,
  check: (repo: Repository) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-migration-" });
  try {
    const path = `${dir}/chat.db`;
    const old = new DatabaseSync(path);
    migrateSqlite(old, version);
    seed(old);
    old.close();
    const repo = new SqliteRepository(path, sqliteOptions());
    try {
      await check(repo);
    } finally {
      await repo.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A PostgreSQL schema at `version`, seeded by `seed`, opened (and migrated) for `check`, which
 * also gets the seeding connection to look at the schema itself.
 */
export async function fromOldPostgres(
  version: number,
  seed: (sql: postgres.Sql) => Promise<void>,
  check: (repo: Repository, sql: postgres.Sql, schema: string) => Promise<void>,
): Promise<void> {
  const schema = testSchema();
  const sql = postgres(TEST_DATABASE_URL, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema },
  });
  try {
    await migratePostgres(sql, schema, version);
    await seed(sql);
    const repo = await PostgresRepository.open({
      ...postgresOptions(TEST_DATABASE_URL, schema),
      poolSize: 2,
    });
    try {
      await check(repo, sql, schema);
    } finally {
      await repo.close();
    }
  } finally {
    await sql.end({ timeout: 1 });
    await dropSchema(schema);
  }
}
