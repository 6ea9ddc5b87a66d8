/**
 * The PostgreSQL and Redis a cluster run of the benchmark uses (127.0.0.1:5432 database `test`
 * and 127.0.0.1:6379 unless `BENCH_DATABASE_URL` / `BENCH_REDIS_URL` say otherwise): a fresh
 * schema and key prefix per run, dropped at its end, so runs never collide with each other or
 * with tests using the same servers.
 */
import postgres from "npm:postgres@3.4.9";
import { createClient } from "npm:@redis/client@1.6.1";

/** Where the cluster's shared services are, and this run's own schema and prefix in them. */
export interface ClusterServices {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly schema: string;
  readonly prefix: string;
}

/** Fresh names in the services the environment points to. */
export function clusterServices(env: Deno.Env = Deno.env): ClusterServices {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  return {
    databaseUrl: env.get("BENCH_DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test",
    redisUrl: env.get("BENCH_REDIS_URL") ?? "redis://127.0.0.1:6379",
    schema: `chat_bench_${suffix}`,
    prefix: `chat-bench:${suffix}:`,
  };
}

/** The settings that make a service node a member of this cluster. */
export function clusterEnv(services: ClusterServices): Record<string, string> {
  return {
    DATABASE_URL: services.databaseUrl,
    DATABASE_SCHEMA: services.schema,
    REDIS_URL: services.redisUrl,
    REDIS_PREFIX: services.prefix,
  };
}

/** Why the cluster cannot run here (a service unreachable), or `null` when it can. */
export async function clusterUnavailable(services: ClusterServices): Promise<string | null> {
  const sql = postgres(services.databaseUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  const redis = createClient({
    url: services.redisUrl,
    socket: { connectTimeout: 3000, reconnectStrategy: false },
  });
  redis.on("error", () => {});
  try {
    await sql`SELECT 1`;
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await sql.end({ timeout: 1 });
    if (redis.isOpen) await redis.disconnect();
  }
}

/** Drops the run's schema and every key under its prefix. */
export async function dropClusterData(services: ClusterServices): Promise<void> {
  const sql = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${services.schema}" CASCADE`);
  } finally {
    await sql.end({ timeout: 1 });
  }
  const redis = createClient({ url: services.redisUrl });
  redis.on("error", () => {});
  await redis.connect();
  try {
    const keys: string[] = [];
    for await (const key of redis.scanIterator({ MATCH: `${services.prefix}*`, COUNT: 500 })) {
      keys.push(key);
    }
    for (let i = 0; i < keys.length; i += 500) await redis.del(keys.slice(i, i + 500));
  } finally {
    await redis.quit();
  }
}
