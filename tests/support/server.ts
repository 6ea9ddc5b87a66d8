/**
 * Starts a real service on port 0 with a temporary SQLite file, or a two-node cluster on
 * PostgreSQL and Redis (`CHAT_TEST_BACKEND=cluster`), and clients to talk to it.
 */
import { describeDatabase, parseConfig } from "../../lib/config.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import type { Repository } from "../../lib/storage/repository.ts";
import { startService } from "../../lib/service.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import type { Clock } from "../../lib/time.ts";
import type { Metrics } from "../../lib/metrics.ts";
import type { Config } from "../../lib/config.ts";
import type { JwtVerifier } from "../../lib/auth/jwt_verdict.ts";
import { PresenceRecorder } from "../../lib/webhooks/presence_recorder.ts";

/** A running test service. */
export interface TestServer {
  readonly port: number;
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly repository: Repository;
  readonly dbPath: string;
  /** Stops the service, closes the database and removes the temp dir (unless kept). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of a test server. */
export interface TestServerOptions {
  /** Settings as environment variables; PORT defaults to 0 and HOST to 127.0.0.1. */
  readonly env?: Record<string, string>;
  /** Reuse this database file (and keep it on close). */
  readonly dbPath?: string;
  readonly clock?: Clock;
  readonly hub?: Hub;
  readonly log?: Logger;
  readonly metrics?: Metrics;
  /** The JWT verifier; by default built from the `JWT_*` settings, as `main.ts` does. */
  readonly jwt?: JwtVerifier;
}

/** The JWT verifier the settings describe (jose loaded only when they name one). */
async function jwtVerifier(
  config: Config,
  options: TestServerOptions,
): Promise<JwtVerifier | undefined> {
  if (options.jwt !== undefined || config.jwt === null) return options.jwt;
  const { createJwtVerifier } = await import("../../lib/auth/jwt.ts");
  const key = config.jwt.key;
  const publicKeyPem = key.kind === "public_key" ? await Deno.readTextFile(key.path) : undefined;
  return createJwtVerifier(config.jwt, { clock: options.clock ?? Date.now, publicKeyPem });
}

/**
 * Which backend `startTestServer` runs on: `embedded` (SQLite + in-process hub, the default)
 * or `cluster` (set `CHAT_TEST_BACKEND=cluster`): two nodes in this process sharing a fresh
 * PostgreSQL schema and Redis key prefix, each with its own pool and `RedisHub`. The cluster
 * server hands out its nodes' URLs in turn, so the clients of one test land on both nodes.
 */
export const TEST_BACKEND = Deno.env.get("CHAT_TEST_BACKEND") === "cluster"
  ? "cluster"
  : "embedded";

/** Tests of the protocol send in bursts; the limit tests set their own values. */
const GENEROUS_LIMITS = {
  MSG_RATE: "100000",
  MSG_BURST: "100000",
  AUTH_MAX_PER_IP: "100000",
} as const;

/** Starts a service on a free port of 127.0.0.1 (two, on the cluster backend). */
export function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  return TEST_BACKEND === "cluster" ? startClusterServer(options) : startEmbeddedServer(options);
}

async function startEmbeddedServer(options: TestServerOptions): Promise<TestServer> {
  const dir = options.dbPath === undefined
    ? await Deno.makeTempDir({ prefix: "chat-test-" })
    : null;
  const dbPath = options.dbPath ?? `${dir}/chat.db`;
  const config = parseConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DB_PATH: dbPath,
    ...GENEROUS_LIMITS,
    ...options.env,
  });
  const repository = new SqliteRepository(dbPath, {
    busyTimeoutMs: config.sqliteBusyTimeoutMs,
    synchronous: config.sqliteSynchronous,
  });
  const presence = new PresenceRecorder({
    repository,
    clock: options.clock ?? Date.now,
    log: options.log ?? silentLogger,
    webhookEvents: config.webhook?.events,
  });
  const hub = options.hub ?? new MemoryHub({ onUserPresence: presence.listener });
  const service = await startService({
    config,
    repository,
    hub,
    log: options.log ?? silentLogger,
    clock: options.clock,
    metrics: options.metrics,
    jwt: await jwtVerifier(config, options),
    presence,
  });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await service.stop();
      await repository.close();
      if (dir !== null) await Deno.remove(dir, { recursive: true });
    })();
  return {
    port: service.port,
    baseUrl: `http://127.0.0.1:${service.port}`,
    wsUrl: `ws://127.0.0.1:${service.port}`,
    repository,
    dbPath,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** How many nodes the cluster test server runs. */
export const CLUSTER_TEST_NODES = 2;

async function startClusterServer(options: TestServerOptions): Promise<TestServer> {
  if (options.hub !== undefined || options.dbPath !== undefined) {
    throw new Error("The cluster test server makes its own hubs and database");
  }
  // Loaded only here, so the embedded run never loads the PostgreSQL or Redis client.
  const [{ PostgresRepository }, { RedisHub }, services] = await Promise.all([
    import("../../lib/storage/postgres_repository.ts"),
    import("../../lib/hub/redis_hub.ts"),
    import("./services.ts"),
  ]);
  const schema = services.testSchema();
  const prefix = services.testRedisPrefix();
  const config = parseConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: services.TEST_DATABASE_URL,
    DATABASE_SCHEMA: schema,
    REDIS_URL: services.TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    ...GENEROUS_LIMITS,
    ...options.env,
  });
  const log = options.log ?? silentLogger;
  const nodes: { repository: Repository; stop: () => Promise<void>; port: number }[] = [];
  const close = async () => {
    for (const node of nodes.splice(0)) {
      await node.stop();
      await node.repository.close();
    }
    await services.dropSchema(schema);
    await services.dropRedisPrefix(prefix);
  };
  try {
    for (let i = 0; i < CLUSTER_TEST_NODES; i++) {
      const repository = await PostgresRepository.open({
        url: config.databaseUrl!,
        schema,
        poolSize: 4,
      });
      let hub;
      const presence = new PresenceRecorder({
        repository,
        clock: options.clock ?? Date.now,
        log,
        webhookEvents: config.webhook?.events,
      });
      try {
        hub = await RedisHub.open({
          url: config.redisUrl!,
          prefix,
          presenceTtlMs: config.presenceTtlMs,
          log,
          onUserPresence: presence.listener,
        });
      } catch (error) {
        await repository.close();
        throw error;
      }
      const service = await startService({
        config,
        repository,
        hub,
        log,
        clock: options.clock,
        jwt: await jwtVerifier(config, options),
        presence,
      });
      nodes.push({ repository, stop: () => service.stop(), port: service.port });
    }
  } catch (error) {
    await close();
    throw error;
  }
  const ports = nodes.map((node) => node.port);
  let turn = 0;
  const nextPort = () => ports[turn++ % ports.length];
  let closing: Promise<void> | undefined;
  const closeOnce = () => closing ??= close();
  return {
    get port() {
      return nextPort();
    },
    get baseUrl() {
      return `http://127.0.0.1:${nextPort()}`;
    },
    get wsUrl() {
      return `ws://127.0.0.1:${nextPort()}`;
    },
    repository: nodes[0].repository,
    dbPath: describeDatabase(config),
    close: closeOnce,
    [Symbol.asyncDispose]: closeOnce,
  };
}

/** Sends a JSON request and returns the status and parsed envelope. */
export async function api(
  server: { baseUrl: string },
  method: string,
  path: string,
  options: {
    body?: unknown;
    token?: string;
    rawBody?: BodyInit;
    headers?: Record<string, string>;
  } = {},
): Promise<
  {
    httpStatus: number;
    json: { status: number; msg: string; body: Record<string, unknown> };
    headers: Headers;
  }
> {
  const headers: Record<string, string> = { ...options.headers };
  // As every client of the API must (a body of any other type is 415); a test may override it.
  if (options.body !== undefined || options.rawBody !== undefined) {
    headers["content-type"] ??= "application/json";
  }
  if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
  const body = options.rawBody ??
    (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await fetch(server.baseUrl + path, { method, headers, body });
  const json = await response.json();
  return { httpStatus: response.status, json, headers: response.headers };
}

/** Registers a user (password `password123` unless given) and logs it in; returns its token. */
export async function registerAndLogin(
  server: { baseUrl: string },
  username: string,
  password = "password123",
): Promise<string> {
  const registered = await api(server, "POST", "/v1/user", { body: { username, password } });
  if (registered.httpStatus !== 201) {
    throw new Error(`register ${username}: ${JSON.stringify(registered.json)}`);
  }
  return await login(server, username, password);
}

/** Logs a user in; returns its token. */
export async function login(
  server: { baseUrl: string },
  username: string,
  password = "password123",
): Promise<string> {
  const response = await api(server, "POST", "/v1/user/token", { body: { username, password } });
  if (response.httpStatus !== 201) {
    throw new Error(`login ${username}: ${JSON.stringify(response.json)}`);
  }
  return response.json.body.token as string;
}

/** The texts of the conversation with `peer`, oldest first (at most 200). */
export async function historyTexts(
  server: { baseUrl: string },
  token: string,
  peer: string,
): Promise<string[]> {
  const response = await api(server, "GET", `/v1/chat/${peer}/messages?limit=200`, { token });
  return (response.json.body.messages as { msg: string }[]).map((m) => m.msg).reverse();
}
