/**
 * Settings, parsed once from an environment map into a fully resolved `Config`. A bad value
 * throws a `ConfigError` naming the setting, so start-up can stop with one clear line.
 */
import { ConfigError } from "./config_error.ts";
import {
  type JwtSettings,
  jwtSettings,
  type SettingReader,
  type WebhookSettings,
  webhookSettings,
} from "./config_integration.ts";

import { type Limits, type LimitSettingReader, limitSettings } from "./config_limits.ts";
import {
  type NetworkSettingReader,
  type NetworkSettings,
  networkSettings,
} from "./config_network.ts";

export { ConfigError };
export type { NetworkSettings } from "./config_network.ts";
export type { Limits } from "./config_limits.ts";
export type { JwtKeySource, JwtSettings, WebhookSettings } from "./config_integration.ts";

/** The resolved settings of the service. */
export interface Config {
  /** TCP port to listen on (`PORT`, default 7071; 0 picks a free one). */
  readonly port: number;
  /**
   * Interface to listen on (`HOST`, default `127.0.0.1`): a fresh start is reachable from this
   * machine only, `/metrics` included; `0.0.0.0` behind a proxy or in a container.
   */
  readonly host: string;
  /** When set, `GET /metrics` needs `Authorization: Bearer <it>` (`METRICS_TOKEN`, default none). */
  readonly metricsToken: string | null;
  /** SQLite database file (`DB_PATH`, default `./data/chat.db`). */
  readonly dbPath: string;
  /** Token lifetime in ms (`TOKEN_TTL`, default 24 h). */
  readonly tokenTtlMs: number;
  /** Longest chat message in characters (`MAX_MESSAGE_CHARS`, default 4096). */
  readonly maxMessageChars: number;
  /** Largest chat frame in bytes (`MAX_FRAME_BYTES`, default 64 KiB); larger closes with 1009. */
  readonly maxFrameBytes: number;
  /** Seconds without a pong before a socket is closed (`WS_IDLE_TIMEOUT`, default 30; 0 = off). */
  readonly wsIdleTimeoutSeconds: number;
  /** How long after sending a sender may recall a message, in ms (`RECALL_WINDOW`, 2m; 0 = off). */
  readonly recallWindowMs: number;
  /** Limits against abuse; see `Limits`. */
  readonly limits: Limits;
  /** Timeouts of connections and the memory bound (`WS_CLOSE_TIMEOUT`, `HTTP_BODY_TIMEOUT`...). */
  readonly network: NetworkSettings;
  /** Browser origins allowed to open chat sockets (`ALLOWED_ORIGINS`); `null` allows any. */
  readonly allowedOrigins: ReadonlySet<string> | null;
  /**
   * How many reverse proxies in front append to `X-Forwarded-For` (`TRUST_PROXY`: `false` = 0,
   * `true` = 1, or a count); the client address is the value the outermost one saw. 0: the
   * connection's address.
   */
  readonly trustedProxies: number;
  /** `text` (default) or `json` log lines (`LOG_FORMAT`). */
  readonly logFormat: "text" | "json";
  /** How long a write waits for a locked SQLite database, in ms (`SQLITE_BUSY_TIMEOUT`). */
  readonly sqliteBusyTimeoutMs: number;
  /**
   * `FULL` (default): every commit reaches the disk before a message is acknowledged.
   * `NORMAL`: commits survive a crash of the process, not of the machine (`SQLITE_SYNCHRONOUS`).
   */
  readonly sqliteSynchronous: "FULL" | "NORMAL";
  /** PostgreSQL connection URL (`DATABASE_URL`); `null` keeps the embedded SQLite file. */
  readonly databaseUrl: string | null;
  /** PostgreSQL schema holding the tables (`DATABASE_SCHEMA`, default `public`). */
  readonly databaseSchema: string;
  /** Most PostgreSQL connections one node opens (`DATABASE_POOL_SIZE`, default 10). */
  readonly databasePoolSize: number;
  /** Redis connection URL (`REDIS_URL`); `null` keeps the in-process hub. */
  readonly redisUrl: string | null;
  /** Prefix of every Redis key and channel (`REDIS_PREFIX`, default `chat:`). */
  readonly redisPrefix: string;
  /** How long a node's presence outlives its last heartbeat, in ms (`PRESENCE_TTL`, default 15 s). */
  readonly presenceTtlMs: number;
  /** Sign-in with the app's JWTs; `null` when no JWT key is set. */
  readonly jwt: JwtSettings | null;
  /** Events sent to the app's backend; `null` when `WEBHOOK_URL` is unset. */
  readonly webhook: WebhookSettings | null;
}

/** The settings read from the environment, with their defaults, for documentation and tests. */
export const DEFAULTS = {
  PORT: "7071",
  HOST: "127.0.0.1",
  METRICS_TOKEN: "",
  DB_PATH: "./data/chat.db",
  TOKEN_TTL: "24h",
  MAX_MESSAGE_CHARS: "4096",
  MAX_FRAME_BYTES: "65536",
  WS_IDLE_TIMEOUT: "30s",
  WS_CLOSE_TIMEOUT: "1s",
  HTTP_BODY_TIMEOUT: "30s",
  MEMORY_LIMIT: "1073741824",
  RECALL_WINDOW: "2m",
  MSG_RATE: "10",
  MSG_BURST: "30",
  MSG_QUEUE: "100",
  MSG_QUEUE_BYTES: "262144",
  AUTH_WINDOW: "1m",
  AUTH_MAX_PER_IP: "30",
  AUTH_MAX_PER_USER: "10",
  MAX_CONNECTIONS: "20000",
  MAX_CONNECTIONS_PER_IP: "200",
  MAX_CONNECTIONS_PER_USER: "20",
  MAX_BUFFERED_BYTES: "1048576",
  MAX_UNACKED: "1000",
  QUOTA_DAILY_MESSAGES: "10000",
  QUOTA_DAILY_BYTES: "16777216",
  QUOTA_WAITING_MESSAGES: "1000",
  TYPING_RATE: "2",
  TYPING_BURST: "5",
  ALLOWED_ORIGINS: "*",
  TRUST_PROXY: "false",
  LOG_FORMAT: "text",
  SQLITE_BUSY_TIMEOUT: "5s",
  SQLITE_SYNCHRONOUS: "FULL",
  DATABASE_URL: "",
  DATABASE_SCHEMA: "public",
  DATABASE_POOL_SIZE: "10",
  REDIS_URL: "",
  REDIS_PREFIX: "chat:",
  PRESENCE_TTL: "15s",
  JWT_SECRET: "",
  JWT_PUBLIC_KEY: "",
  JWT_JWKS_URL: "",
  JWT_ISSUER: "",
  JWT_AUDIENCE: "",
  JWT_LEEWAY: "30s",
  WEBHOOK_URL: "",
  WEBHOOK_SECRET: "",
  WEBHOOK_EVENTS: "*",
  WEBHOOK_MAX_AGE: "24h",
  WEBHOOK_TIMEOUT: "5s",
} as const;

type Env = Readonly<Record<string, string | undefined>>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function read(env: Env, key: keyof typeof DEFAULTS): string {
  const value = env[key]?.trim();
  return value === undefined || value === "" ? DEFAULTS[key] : value;
}

function integer(env: Env, key: keyof typeof DEFAULTS, min: number, max: number): number {
  const text = read(env, key);
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(key, `expected a whole number from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

/** Parses `90`, `90s`, `15m`, `24h`, `7d` or `500ms`; a bare number means seconds. */
function duration(env: Env, key: keyof typeof DEFAULTS, minMs: number, maxMs: number): number {
  const text = read(env, key);
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? "s"] : NaN;
  if (!Number.isSafeInteger(ms) || ms < minMs || ms > maxMs) {
    throw new ConfigError(
      key,
      `expected a duration like 30s, 15m or 24h from ${minMs} ms to ${maxMs} ms, got "${text}"`,
    );
  }
  return ms;
}

/** A connection URL with one of `protocols`, or `null` when the setting is empty. */
function connectionUrl(
  env: Env,
  key: keyof typeof DEFAULTS,
  protocols: readonly string[],
): string | null {
  const text = read(env, key);
  if (text === "") return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(key, `not a URL, got "${redactUrl(text)}"`);
  }
  if (!protocols.includes(url.protocol) || url.hostname === "") {
    throw new ConfigError(
      key,
      `expected a ${protocols.map((p) => `${p}//`).join(" or ")} URL with a host, got "${
        redactUrl(text)
      }"`,
    );
  }
  return text;
}

/** A URL with its password replaced by `***`, for logs and error messages. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== "") url.password = "***";
    return url.toString();
  } catch {
    // Not a URL: show nothing after a possible `user:password@`.
    return text.replace(/\/\/[^@/]*@/, "//***@");
  }
}

/** Resolves settings from an environment map. */
export function parseConfig(env: Env): Config {
  return {
    ...serverSettings(env),
    limits: limitSettings(numberReader(env)),
    network: networkSettings(numberReader(env)),
    ...storageSettings(env),
    ...clusterSettings(env),
    jwt: jwtSettings(settingReader(env)),
    webhook: webhookSettings(settingReader(env)),
  };
}

function serverSettings(env: Env) {
  const host = read(env, "HOST");
  if (!/^[\w.:\-\[\]]+$/.test(host)) {
    throw new ConfigError("HOST", `not a host name, got "${host}"`);
  }
  const idleMs = duration(env, "WS_IDLE_TIMEOUT", 0, 3_600_000);
  if (idleMs % 1000 !== 0) {
    throw new ConfigError(
      "WS_IDLE_TIMEOUT",
      `must be whole seconds, got "${read(env, "WS_IDLE_TIMEOUT")}"`,
    );
  }
  return {
    port: integer(env, "PORT", 0, 65535),
    host,
    metricsToken: read(env, "METRICS_TOKEN") || null,
    tokenTtlMs: duration(env, "TOKEN_TTL", 1000, 366 * UNIT_MS.d),
    maxMessageChars: integer(env, "MAX_MESSAGE_CHARS", 1, 1_000_000),
    maxFrameBytes: integer(env, "MAX_FRAME_BYTES", 256, 64 * 1024 * 1024),
    wsIdleTimeoutSeconds: idleMs / 1000,
    recallWindowMs: duration(env, "RECALL_WINDOW", 0, 366 * UNIT_MS.d),
    allowedOrigins: origins(env),
    trustedProxies: proxyHops(env),
    logFormat: oneOf(env, "LOG_FORMAT", ["text", "json"] as const),
  };
}

function storageSettings(env: Env) {
  const databaseSchema = read(env, "DATABASE_SCHEMA");
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) {
    throw new ConfigError(
      "DATABASE_SCHEMA",
      `expected a lower-case SQL name (a-z, 0-9, _; at most 63), got "${databaseSchema}"`,
    );
  }
  return {
    dbPath: read(env, "DB_PATH"),
    sqliteBusyTimeoutMs: duration(env, "SQLITE_BUSY_TIMEOUT", 0, 600_000),
    sqliteSynchronous: oneOf(env, "SQLITE_SYNCHRONOUS", ["FULL", "NORMAL"] as const),
    databaseUrl: connectionUrl(env, "DATABASE_URL", ["postgres:", "postgresql:"]),
    databaseSchema,
    databasePoolSize: integer(env, "DATABASE_POOL_SIZE", 1, 1000),
  };
}

function clusterSettings(env: Env) {
  const redisUrl = connectionUrl(env, "REDIS_URL", ["redis:", "rediss:"]);
  if (redisUrl !== null && read(env, "DATABASE_URL") === "") {
    throw new ConfigError(
      "REDIS_URL",
      "needs DATABASE_URL too: the nodes of a cluster share one PostgreSQL database",
    );
  }
  const redisPrefix = read(env, "REDIS_PREFIX");
  if (!/^[\w:.\-]{1,64}$/.test(redisPrefix)) {
    throw new ConfigError(
      "REDIS_PREFIX",
      `expected 1 to 64 of a-z, A-Z, 0-9, _ : . -, got "${redisPrefix}"`,
    );
  }
  return {
    redisUrl,
    redisPrefix,
    presenceTtlMs: duration(env, "PRESENCE_TTL", 1000, 10 * UNIT_MS.m),
  };
}

/** The number readers the limits and network settings (`config_limits.ts`, `config_network.ts`) parse with. */
function numberReader(env: Env): LimitSettingReader & NetworkSettingReader {
  return {
    duration: (key, minMs, maxMs) => duration(env, key, minMs, maxMs),
    integer: (key, min, max) => integer(env, key, min, max),
  };
}

/** The value readers the integration settings (`config_integration.ts`) parse with. */
function settingReader(env: Env): SettingReader {
  return {
    text: (key) => read(env, key),
    duration: (key, minMs, maxMs) => duration(env, key, minMs, maxMs),
    webUrl: (key) => connectionUrl(env, key, ["https:", "http:"]),
  };
}

function boolean(env: Env, key: keyof typeof DEFAULTS): boolean {
  const text = read(env, key).toLowerCase();
  if (["1", "true", "yes", "on"].includes(text)) return true;
  if (["0", "false", "no", "off"].includes(text)) return false;
  throw new ConfigError(key, `expected true or false, got "${text}"`);
}

/** `TRUST_PROXY`: `false` (0), `true` (1 proxy) or how many proxies stand in front (0 to 10). */
function proxyHops(env: Env): number {
  const text = read(env, "TRUST_PROXY");
  return /^\d+$/.test(text)
    ? integer(env, "TRUST_PROXY", 0, 10)
    : Number(boolean(env, "TRUST_PROXY"));
}

function oneOf<T extends string>(env: Env, key: keyof typeof DEFAULTS, choices: readonly T[]): T {
  const text = read(env, key);
  if (!(choices as readonly string[]).includes(text)) {
    throw new ConfigError(key, `expected one of ${choices.join(", ")}, got "${text}"`);
  }
  return text as T;
}

/** `*` for any origin, or a comma-separated list like `https://chat.example.com,http://localhost:8080`. */
function origins(env: Env): ReadonlySet<string> | null {
  const text = read(env, "ALLOWED_ORIGINS");
  if (text === "*") return null;
  const list = text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  for (const entry of list) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(entry);
    } catch {
      // Reported below.
    }
    if (parsed === null || parsed.origin !== entry) {
      throw new ConfigError(
        "ALLOWED_ORIGINS",
        `expected * or origins like https://chat.example.com, got "${entry}"`,
      );
    }
  }
  return new Set(list);
}

/** Where the data lives, for the `listening` log line: the SQLite path or the redacted URL. */
export function describeDatabase(config: Config): string {
  return config.databaseUrl === null ? config.dbPath : redactUrl(config.databaseUrl);
}
