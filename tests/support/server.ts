/** Starts a real service on port 0 with a temporary SQLite file, and clients to talk to it. */
import { parseConfig } from "../../lib/config.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import type { Repository } from "../../lib/storage/repository.ts";
import { startService } from "../../lib/service.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import type { Clock } from "../../lib/time.ts";
import type { Metrics } from "../../lib/metrics.ts";

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
}

/** Starts a service on a free port of 127.0.0.1. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = options.dbPath === undefined
    ? await Deno.makeTempDir({ prefix: "chat-test-" })
    : null;
  const dbPath = options.dbPath ?? `${dir}/chat.db`;
  const config = parseConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DB_PATH: dbPath,
    // Tests of the protocol send in bursts; the limit tests set their own values.
    MSG_RATE: "100000",
    MSG_BURST: "100000",
    AUTH_MAX_PER_IP: "100000",
    ...options.env,
  });
  const repository = new SqliteRepository(dbPath, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
  const hub = options.hub ?? new MemoryHub();
  const service = await startService({
    config,
    repository,
    hub,
    log: options.log ?? silentLogger,
    clock: options.clock,
    metrics: options.metrics,
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
