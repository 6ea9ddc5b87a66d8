/**
 * Settings, parsed once from an environment map into a fully resolved `Config`. A bad value
 * throws a `ConfigError` naming the setting, so start-up can stop with one clear line.
 */

/** The resolved settings of the service. */
export interface Config {
  /** TCP port to listen on (`PORT`, default 7071; 0 picks a free one). */
  readonly port: number;
  /** Interface to listen on (`HOST`, default `0.0.0.0`). */
  readonly host: string;
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
}

/** A setting that cannot be used. */
export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, reason: string) {
    super(`Invalid setting ${key}: ${reason}`);
    this.name = "ConfigError";
    this.key = key;
  }
}

/** The settings read from the environment, with their defaults, for documentation and tests. */
export const DEFAULTS = {
  PORT: "7071",
  HOST: "0.0.0.0",
  DB_PATH: "./data/chat.db",
  TOKEN_TTL: "24h",
  MAX_MESSAGE_CHARS: "4096",
  MAX_FRAME_BYTES: "65536",
  WS_IDLE_TIMEOUT: "30s",
  DATABASE_URL: "",
  DATABASE_SCHEMA: "public",
  DATABASE_POOL_SIZE: "10",
  REDIS_URL: "",
  REDIS_PREFIX: "chat:",
  PRESENCE_TTL: "15s",
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
  const databaseUrl = connectionUrl(env, "DATABASE_URL", ["postgres:", "postgresql:"]);
  const redisUrl = connectionUrl(env, "REDIS_URL", ["redis:", "rediss:"]);
  if (redisUrl !== null && databaseUrl === null) {
    throw new ConfigError(
      "REDIS_URL",
      "needs DATABASE_URL too: the nodes of a cluster share one PostgreSQL database",
    );
  }
  const databaseSchema = read(env, "DATABASE_SCHEMA");
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) {
    throw new ConfigError(
      "DATABASE_SCHEMA",
      `expected a lower-case SQL name (a-z, 0-9, _; at most 63), got "${databaseSchema}"`,
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
    port: integer(env, "PORT", 0, 65535),
    host,
    dbPath: read(env, "DB_PATH"),
    tokenTtlMs: duration(env, "TOKEN_TTL", 1000, 366 * UNIT_MS.d),
    maxMessageChars: integer(env, "MAX_MESSAGE_CHARS", 1, 1_000_000),
    maxFrameBytes: integer(env, "MAX_FRAME_BYTES", 256, 64 * 1024 * 1024),
    wsIdleTimeoutSeconds: idleMs / 1000,
    databaseUrl,
    databaseSchema,
    databasePoolSize: integer(env, "DATABASE_POOL_SIZE", 1, 1000),
    redisUrl,
    redisPrefix,
    presenceTtlMs: duration(env, "PRESENCE_TTL", 1000, 10 * UNIT_MS.m),
  };
}

/** Where the data lives, for the `listening` log line: the SQLite path or the redacted URL. */
export function describeDatabase(config: Config): string {
  return config.databaseUrl === null ? config.dbPath : redactUrl(config.databaseUrl);
}
