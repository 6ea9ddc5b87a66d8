/**
 * The PostgreSQL and Redis the cluster tests run against (127.0.0.1:5432 database `test` and
 * 127.0.0.1:6379 unless `TEST_DATABASE_URL` / `TEST_REDIS_URL` say otherwise), probed once per
 * test module. Where one is unreachable its tests are skipped with a printed note, unless
 * `REQUIRE_SERVICES=1` (CI sets it), which makes them run and fail.
 *
 * Every schema and key prefix made here has a random suffix, so runs never collide, and is
 * dropped by its owner when done.
 */
import postgres from "npm:postgres@3.4.9";
import { createClient } from "npm:@redis/client@1.6.1";

/** The PostgreSQL database of the tests. */
export const TEST_DATABASE_URL = Deno.env.get("TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";
/** The Redis server of the tests. */
export const TEST_REDIS_URL = Deno.env.get("TEST_REDIS_URL") ?? "redis://127.0.0.1:6379";
/** Whether unreachable services fail the run instead of skipping their tests. */
export const SERVICES_REQUIRED = Deno.env.get("REQUIRE_SERVICES") === "1";

const PROBE_TIMEOUT_SECONDS = 3;

async function probePostgres(): Promise<string | null> {
  const sql = postgres(TEST_DATABASE_URL, {
    max: 1,
    connect_timeout: PROBE_TIMEOUT_SECONDS,
    onnotice: () => {},
  });
  try {
    await sql`SELECT 1`;
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function probeRedis(): Promise<string | null> {
  const client = createClient({
    url: TEST_REDIS_URL,
    socket: { connectTimeout: PROBE_TIMEOUT_SECONDS * 1000, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    if (client.isOpen) await client.disconnect();
  }
}

let probed: Promise<{ postgres: string | null; redis: string | null }> | null = null;

/**
 * Resolves with whether the tests needing `which` should run; prints one note naming what is
 * unreachable when they are skipped.
 */
export async function servicesReachable(
  which: readonly ("postgres" | "redis")[],
  what: string,
): Promise<boolean> {
  probed ??= Promise.all([probePostgres(), probeRedis()]).then(([pg, redis]) => ({
    postgres: pg,
    redis,
  }));
  const problems = await probed;
  const down = which.filter((service) => problems[service] !== null);
  if (down.length === 0) return true;
  const detail = down.map((service) =>
    service === "postgres"
      ? `PostgreSQL at ${TEST_DATABASE_URL} (${problems.postgres})`
      : `Redis at ${TEST_REDIS_URL} (${problems.redis})`
  ).join(" and ");
  if (SERVICES_REQUIRED) {
    console.error(`REQUIRE_SERVICES=1 and ${detail} unreachable: ${what} will fail`);
    return true;
  }
  console.warn(`note: skipping ${what}: ${detail} unreachable (set REQUIRE_SERVICES=1 to fail)`);
  return false;
}

/** A random suffix for schema names and key prefixes, unique per call. */
export function uniqueSuffix(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 12);
}

/** A fresh schema name for one test or test run. */
export function testSchema(): string {
  return `chat_test_${uniqueSuffix()}`;
}

/** A fresh Redis key prefix for one test or test run. */
export function testRedisPrefix(): string {
  return `chat-test:${uniqueSuffix()}:`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const sql = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Deletes every Redis key under a test prefix. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const client = createClient({ url: TEST_REDIS_URL });
  client.on("error", () => {});
  await client.connect();
  try {
    const keys: string[] = [];
    for await (const key of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      keys.push(key);
    }
    for (let i = 0; i < keys.length; i += 500) await client.del(keys.slice(i, i + 500));
  } finally {
    await client.quit();
  }
}

/** A TCP port of 127.0.0.1 that nothing listens on (just now), for "unreachable" tests. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}
