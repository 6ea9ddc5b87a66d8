/**
 * Search over 1,000,000 stored messages (issue 12), on SQLite and PostgreSQL, standalone:
 *
 *   deno run --allow-all bench/search.ts [--messages 1000000] [--backend sqlite|postgres|both]
 *
 * Each backend gets a fresh store at the schema before search, filled in bulk with the corpus of
 * `search_corpus.ts` (a fifth of it Tom and Jack's conversation); opening the repository then
 * runs the search migration, which builds the index for those messages (timed). Then each query
 * runs through `Repository.searchMessages` as the HTTP route calls it (a page of 50), a few times,
 * and the table gives the median and slowest time and how many messages the page found.
 * PostgreSQL is `BENCH_DATABASE_URL` (default 127.0.0.1:5432/test), in a schema dropped after.
 */
import { DatabaseSync } from "node:sqlite";
import postgres from "npm:postgres@3.4.9";
import { parseConfig } from "../lib/config.ts";
import type { Repository } from "../lib/storage/repository.ts";
import { migrate as migrateSqlite } from "../lib/storage/sqlite_schema.ts";
import { SqliteSearchIndexer } from "../lib/storage/sqlite_search_indexer.ts";
import { SqliteRepository } from "../lib/storage/sqlite_repository.ts";
import { corpus, type CorpusMessage, OTHER_USERS, PLANTED, userName } from "./search_corpus.ts";

/** The SQLite schema version before search (migration 7 adds it). */
const SQLITE_BEFORE_SEARCH = 6;
const RUNS = 9;
const PAGE = 50;
const CHUNK = 10_000;
// Messages stored again after the migration, to price the index on every write.
const WITH_INDEX = 50_000;
const DATABASE_URL = Deno.env.get("BENCH_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";

/** One measured search. */
interface Measured {
  readonly query: string;
  readonly found: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

/** What one backend measured. */
interface BackendResult {
  readonly backend: string;
  readonly loadSeconds: number;
  readonly migrateSeconds: number;
  /**
   * Microseconds per stored message in bulk: at the schema before search (on SQLite with that
   * schema's triggers), and at today's with the message indexed (on SQLite by the indexer).
   */
  readonly writeUs: { readonly before: number; readonly after: number };
  readonly searches: Measured[];
}

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at === -1 ? fallback : Deno.args[at + 1];
}

const send = (i: number) => `2026-12-01 10:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:00`;

/** Stores `total` corpus messages in transactions of `CHUNK`; returns the seconds it took. */
function insertSqlite(db: DatabaseSync, total: number): number {
  const started = performance.now();
  const addMessage = db.prepare(
    `INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at) VALUES (?, ?, ?, ?, ?)`,
  );
  let i = 0;
  for (const batch of corpus(total, CHUNK)) {
    db.exec("BEGIN");
    for (const m of batch) addMessage.run(m.from + 1, m.to + 1, m.msg, send(i), i++);
    db.exec("COMMIT");
  }
  return (performance.now() - started) / 1000;
}

/** Fills a SQLite file at the schema before search; returns the seconds the messages took. */
function loadSqlite(path: string, total: number): number {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  migrateSqlite(db, SQLITE_BEFORE_SEARCH);
  const addUser = db.prepare(
    `INSERT INTO users (id, username, username_key, password_hash, created_at) VALUES (?, ?, ?, 'x', 0)`,
  );
  db.exec("BEGIN");
  for (let n = 0; n < OTHER_USERS + 2; n++) addUser.run(n + 1, userName(n), userName(n));
  db.exec("COMMIT");
  const seconds = insertSqlite(db, total);
  db.close();
  return seconds;
}

/**
 * Stores `WITH_INDEX` more messages into the migrated file, as the loader did, and has the
 * search indexer index them (as the service does, in its batches); their seconds.
 */
function insertSqliteWithIndex(path: string): number {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA synchronous = NORMAL");
    const inserted = insertSqlite(db, WITH_INDEX);
    const started = performance.now();
    const indexer = new SqliteSearchIndexer(db, () => {});
    indexer.catchUp();
    indexer.stop();
    return inserted + (performance.now() - started) / 1000;
  } finally {
    db.close();
  }
}

/** Stores `total` corpus messages in statements of `CHUNK`; returns the seconds it took. */
async function insertPostgres(sql: postgres.Sql, total: number): Promise<number> {
  const started = performance.now();
  let i = 0;
  for (const batch of corpus(total, CHUNK)) {
    const column = (read: (m: CorpusMessage, k: number) => string | number) =>
      sql.array(batch.map(read) as string[]);
    await sql`INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at)
      SELECT * FROM unnest(${column((m) => m.from + 1)}::bigint[],
        ${column((m) => m.to + 1)}::bigint[], ${column((m) => m.msg)}::text[],
        ${column((_, k) => send(i + k))}::text[], ${column((_, k) => i + k)}::bigint[])`;
    i += batch.length;
  }
  return (performance.now() - started) / 1000;
}

/** Fills a PostgreSQL schema at the schema before search; returns the seconds the messages took. */
async function loadPostgres(sql: postgres.Sql, schema: string, total: number): Promise<number> {
  const { migrate, PG_SCHEMA_VERSION } = await import("../lib/storage/postgres_schema.ts");
  await migrate(sql, schema, PG_SCHEMA_VERSION - 1);
  const names = Array.from({ length: OTHER_USERS + 2 }, (_, n) => userName(n));
  await sql`INSERT INTO users (username, username_key, password_hash, created_at)
            SELECT name, name, 'x', 0 FROM unnest(${sql.array(names)}::text[]) AS name`;
  return await insertPostgres(sql, total);
}

/** Every search of the table on `repo`, which is closed after them either way. */
async function searchesThenClose(repo: Repository & { close(): Promise<void> }) {
  try {
    return await searches(repo);
  } finally {
    await repo.close();
  }
}

/** Runs one search `RUNS` times after a warm-up; the median and slowest time. */
async function measure(
  repo: Repository,
  label: string,
  run: () => Promise<unknown[]>,
): Promise<Measured> {
  const found = (await run()).length;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 100) / 100;
  void repo;
  return { query: label, found, medianMs: round(times[RUNS >> 1]), maxMs: round(times.at(-1)!) };
}

/** The measured searches: Tom and Jack's large conversation, and a small one for contrast. */
async function searches(repo: Repository): Promise<Measured[]> {
  const tom = (await repo.findUser("tom"))!;
  const jack = (await repo.findUser("jack"))!;
  const small = [(await repo.findUser(userName(2)))!, null] as const;
  const other = await findPeerOf(repo, small[0].id);
  const search = (a: number, b: number, text: string, beforeId?: number) => () =>
    repo.searchMessages(a, b, { text, limit: PAGE, beforeId });
  const results: Measured[] = [];
  for (
    const [label, text] of [
      [`common word "${PLANTED.common}"`, PLANTED.common],
      [`rare word "${PLANTED.rare}"`, PLANTED.rare],
      [`Chinese, 2 characters "${PLANTED.chineseCommon}"`, PLANTED.chineseCommon],
      [`Chinese, 2 characters, rare "${PLANTED.chineseRare}"`, PLANTED.chineseRare],
      [
        `Chinese, 5 characters "${PLANTED.chineseCommon} 今天"`,
        `${PLANTED.chineseCommon} 今天`,
      ],
    ] as const
  ) results.push(await measure(repo, label, search(tom.id, jack.id, text)));
  const first = await repo.searchMessages(tom.id, jack.id, { text: PLANTED.common, limit: PAGE });
  results.push(
    await measure(
      repo,
      `common word, second page`,
      search(tom.id, jack.id, PLANTED.common, first.at(-1)?.messageId),
    ),
  );
  if (other !== null) {
    const label = `common word, a conversation of ~2,000 messages`;
    results.push(await measure(repo, label, search(small[0].id, other, PLANTED.common)));
  }
  return results;
}

/** Someone `userId` has a conversation with (the corpus pairs users at random). */
async function findPeerOf(repo: Repository, userId: number): Promise<number | null> {
  for (let n = 2; n < OTHER_USERS + 2; n++) {
    const peer = (await repo.findUser(userName(n)))!;
    if ((await repo.history(userId, peer.id, { limit: 1 })).length > 0) return peer.id;
  }
  return null;
}

async function benchSqlite(total: number): Promise<BackendResult> {
  const dir = await Deno.makeTempDir({ prefix: "chat-bench-search-" });
  try {
    const path = `${dir}/chat.db`;
    const loadSeconds = loadSqlite(path, total);
    const config = parseConfig({});
    const started = performance.now();
    const repo = new SqliteRepository(path, {
      busyTimeoutMs: config.sqliteBusyTimeoutMs,
      synchronous: config.sqliteSynchronous,
    });
    const migrateSeconds = (performance.now() - started) / 1000;
    const found = await searchesThenClose(repo);
    const writeUs = {
      before: (loadSeconds * 1e6) / total,
      after: (insertSqliteWithIndex(path) * 1e6) / WITH_INDEX,
    };
    return {
      backend: "SQLite (FTS5 trigram)",
      loadSeconds,
      migrateSeconds,
      writeUs,
      searches: found,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function benchPostgres(total: number): Promise<BackendResult> {
  const { PostgresRepository } = await import("../lib/storage/postgres_repository.ts");
  const schema = `bench_search_${crypto.randomUUID().slice(0, 8)}`;
  // The loader's own connection skips triggers (`replica`): migration 5's conversation trigger
  // costs far more than the insert itself in bulk, and search does not read conversations. The
  // search index (not a trigger) is kept up to date either way.
  const sql = postgres(DATABASE_URL, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema, session_replication_role: "replica" },
  });
  try {
    const loadSeconds = await loadPostgres(sql, schema, total);
    const config = parseConfig({ DATABASE_URL, DATABASE_SCHEMA: schema });
    const started = performance.now();
    const repo = await PostgresRepository.open({
      url: DATABASE_URL,
      schema,
      poolSize: config.databasePoolSize,
    });
    const migrateSeconds = (performance.now() - started) / 1000;
    // What autovacuum does on its own after a bulk load: statistics for the planner.
    await sql`ANALYZE messages`;
    const found = await searchesThenClose(repo);
    const writeUs = {
      before: (loadSeconds * 1e6) / total,
      after: (await insertPostgres(sql, WITH_INDEX) * 1e6) / WITH_INDEX,
    };
    return {
      backend: "PostgreSQL (pg_trgm GIN)",
      loadSeconds,
      migrateSeconds,
      writeUs,
      searches: found,
    };
  } finally {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end({ timeout: 1 });
  }
}

function report(total: number, results: readonly BackendResult[]): string {
  const lines = [
    `Search over ${
      total.toLocaleString("en-US")
    } stored messages; Tom and Jack's conversation holds ` +
    `${
      Math.floor(total / 5).toLocaleString("en-US")
    } of them; a page of ${PAGE}, ${RUNS} runs after a warm-up.`,
    "",
  ];
  for (const result of results) {
    lines.push(
      `${result.backend}: bulk load ${result.loadSeconds.toFixed(1)} s, ` +
        `search migration (index build) ${result.migrateSeconds.toFixed(1)} s; ` +
        `a bulk-stored message costs ${result.writeUs.before.toFixed(1)} µs at the schema ` +
        `before search, ${result.writeUs.after.toFixed(1)} µs at today's, indexed (${
          WITH_INDEX.toLocaleString("en-US")
        } more)`,
      "",
      "| query | found | median ms | slowest ms |",
      "| --- | ---: | ---: | ---: |",
      ...result.searches.map((s) => `| ${s.query} | ${s.found} | ${s.medianMs} | ${s.maxMs} |`),
      "",
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const total = Number(option("messages", "1000000"));
  const backend = option("backend", "both");
  const results: BackendResult[] = [];
  if (backend !== "postgres") results.push(await benchSqlite(total));
  if (backend !== "sqlite") results.push(await benchPostgres(total));
  console.log(report(total, results));
}
