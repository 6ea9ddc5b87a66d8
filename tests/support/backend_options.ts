/**
 * Backend options as `main.ts` builds them from `Config`, here from the documented defaults
 * (`parseConfig({})`), so that a test building a backend passes every setting explicitly and
 * `DEFAULTS` in `lib/config.ts` stays their one source. A test changes one by spreading:
 * `{ ...sqliteOptions(), busyTimeoutMs: 100 }`.
 *
 * The imports of the PostgreSQL and Redis backends are types only, so an embedded run that uses
 * this module still never loads their clients.
 */
import { parseConfig } from "../../lib/config.ts";
import type { Logger } from "../../lib/log.ts";
import type { SqliteOptions } from "../../lib/storage/sqlite_repository.ts";
import type { PostgresOptions } from "../../lib/storage/postgres_repository.ts";
import type { RedisHubOptions } from "../../lib/hub/redis_hub.ts";

/** The SQLite repository's options with the default settings. */
export function sqliteOptions(): SqliteOptions {
  const config = parseConfig({});
  return { busyTimeoutMs: config.sqliteBusyTimeoutMs, synchronous: config.sqliteSynchronous };
}

/** The PostgreSQL repository's options for `url` and `schema`, with the default settings. */
export function postgresOptions(url: string, schema: string): PostgresOptions {
  const config = parseConfig({ DATABASE_URL: url, DATABASE_SCHEMA: schema });
  return {
    url: config.databaseUrl ?? url,
    schema: config.databaseSchema,
    poolSize: config.databasePoolSize,
  };
}

/** The Redis hub's options for `url` and key `prefix`, with the default settings. */
export function redisHubOptions(url: string, prefix: string, log: Logger): RedisHubOptions {
  const config = parseConfig({ REDIS_PREFIX: prefix });
  return { url, prefix: config.redisPrefix, presenceTtlMs: config.presenceTtlMs, log };
}
