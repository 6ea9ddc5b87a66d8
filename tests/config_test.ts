/** Settings: defaults, accepted values, and a `ConfigError` naming each bad key. */
import assert from "node:assert/strict";
import { ConfigError, DEFAULTS, parseConfig, redactUrl } from "../lib/config.ts";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Asserts that `env` is refused with a `ConfigError` naming `key` and quoting `value`. */
function assertRefused(key: string, value: string): void {
  assert.throws(
    () => parseConfig({ [key]: value }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `${key}=${value} throws a ConfigError`);
      assert.equal(error.key, key);
      assert.ok(error.message.includes(key), `"${error.message}" names ${key}`);
      assert.ok(error.message.includes(value.trim()), `"${error.message}" quotes ${value}`);
      return true;
    },
    `${key}=${value} is refused`,
  );
}

Deno.test("an empty environment resolves to the documented defaults", () => {
  assert.deepEqual(parseConfig({}), {
    port: 7071,
    host: "127.0.0.1",
    metricsToken: null,
    dbPath: "./data/chat.db",
    tokenTtlMs: DAY,
    maxMessageChars: 4096,
    maxFrameBytes: 64 * 1024,
    wsIdleTimeoutSeconds: 30,
    recallWindowMs: 2 * MINUTE,
    network: { closeTimeoutMs: 1000, bodyTimeoutMs: 30_000, memoryLimitBytes: 1024 ** 3 },
    limits: {
      messageRate: 10,
      messageBurst: 30,
      messageQueue: 100,
      messageQueueBytes: 262144,
      authWindowMs: 60_000,
      authMaxPerIp: 30,
      authMaxPerUser: 10,
      maxConnections: 20_000,
      maxConnectionsPerIp: 200,
      maxConnectionsPerUser: 20,
      maxBufferedBytes: 1024 * 1024,
      maxUnacked: 1000,
      quotaDailyMessages: 10_000,
      quotaDailyBytes: 16 * 1024 * 1024,
      quotaWaitingMessages: 1000,
      typingRate: 2,
      typingBurst: 5,
    },
    allowedOrigins: null,
    trustedProxies: 0,
    logFormat: "text",
    sqliteBusyTimeoutMs: 5000,
    sqliteSynchronous: "FULL",
    databaseUrl: null,
    databaseSchema: "public",
    databasePoolSize: 10,
    redisUrl: null,
    redisPrefix: "chat:",
    presenceTtlMs: 15 * SECOND,
    jwt: null,
    webhook: null,
  });
  assert.deepEqual(parseConfig({}), parseConfig({ ...DEFAULTS }));
});

Deno.test("empty or blank settings fall back to their defaults", () => {
  assert.deepEqual(parseConfig({ PORT: "", HOST: "  ", TOKEN_TTL: "" }), parseConfig({}));
});

Deno.test("every setting is read from the environment", () => {
  assert.deepEqual(
    parseConfig({
      PORT: "8080",
      HOST: "0.0.0.0",
      METRICS_TOKEN: "metrics-secret",
      DB_PATH: "/var/lib/chat/chat.db",
      TOKEN_TTL: "2h",
      MAX_MESSAGE_CHARS: "100",
      MAX_FRAME_BYTES: "1024",
      WS_IDLE_TIMEOUT: "0",
      RECALL_WINDOW: "5m",
      WS_CLOSE_TIMEOUT: "250ms",
      HTTP_BODY_TIMEOUT: "5s",
      MEMORY_LIMIT: "0",
      MSG_RATE: "5",
      MSG_BURST: "7",
      MSG_QUEUE: "9",
      MSG_QUEUE_BYTES: "4096",
      AUTH_WINDOW: "10m",
      AUTH_MAX_PER_IP: "100",
      AUTH_MAX_PER_USER: "3",
      MAX_CONNECTIONS: "50",
      MAX_CONNECTIONS_PER_IP: "20",
      MAX_CONNECTIONS_PER_USER: "2",
      MAX_BUFFERED_BYTES: "65536",
      MAX_UNACKED: "64",
      QUOTA_DAILY_MESSAGES: "500",
      QUOTA_DAILY_BYTES: "0",
      QUOTA_WAITING_MESSAGES: "50",
      TYPING_RATE: "3",
      TYPING_BURST: "7",
      ALLOWED_ORIGINS: "https://chat.example.com, http://localhost:8080",
      TRUST_PROXY: "yes",
      LOG_FORMAT: "json",
      SQLITE_BUSY_TIMEOUT: "250ms",
      SQLITE_SYNCHRONOUS: "NORMAL",
      DATABASE_URL: "postgres://chat:secret@db.example:5432/chat",
      DATABASE_SCHEMA: "chat_eu",
      DATABASE_POOL_SIZE: "25",
      REDIS_URL: "redis://cache.example:6379/2",
      REDIS_PREFIX: "chat-eu:",
      PRESENCE_TTL: "20s",
      JWT_JWKS_URL: "https://app.example/.well-known/jwks.json",
      JWT_ISSUER: "https://app.example",
      JWT_AUDIENCE: "chat",
      JWT_LEEWAY: "5s",
      WEBHOOK_URL: "https://app.example/hooks/chat",
      WEBHOOK_SECRET: "0123456789abcdef",
      WEBHOOK_EVENTS: "message.waiting, user.offline",
      WEBHOOK_MAX_AGE: "2h",
      WEBHOOK_TIMEOUT: "1500ms",
    }),
    {
      port: 8080,
      host: "0.0.0.0",
      metricsToken: "metrics-secret",
      dbPath: "/var/lib/chat/chat.db",
      tokenTtlMs: 2 * HOUR,
      maxMessageChars: 100,
      maxFrameBytes: 1024,
      wsIdleTimeoutSeconds: 0,
      recallWindowMs: 5 * MINUTE,
      network: { closeTimeoutMs: 250, bodyTimeoutMs: 5000, memoryLimitBytes: 0 },
      limits: {
        messageRate: 5,
        messageBurst: 7,
        messageQueue: 9,
        messageQueueBytes: 4096,
        authWindowMs: 10 * 60_000,
        authMaxPerIp: 100,
        authMaxPerUser: 3,
        maxConnections: 50,
        maxConnectionsPerIp: 20,
        maxConnectionsPerUser: 2,
        maxBufferedBytes: 65536,
        maxUnacked: 64,
        quotaDailyMessages: 500,
        quotaDailyBytes: 0,
        quotaWaitingMessages: 50,
        typingRate: 3,
        typingBurst: 7,
      },
      allowedOrigins: new Set(["https://chat.example.com", "http://localhost:8080"]),
      trustedProxies: 1,
      logFormat: "json",
      sqliteBusyTimeoutMs: 250,
      sqliteSynchronous: "NORMAL",
      databaseUrl: "postgres://chat:secret@db.example:5432/chat",
      databaseSchema: "chat_eu",
      databasePoolSize: 25,
      redisUrl: "redis://cache.example:6379/2",
      redisPrefix: "chat-eu:",
      presenceTtlMs: 20 * SECOND,
      jwt: {
        key: { kind: "jwks", url: "https://app.example/.well-known/jwks.json" },
        issuer: "https://app.example",
        audience: "chat",
        leewayMs: 5 * SECOND,
      },
      webhook: {
        url: "https://app.example/hooks/chat",
        secret: "0123456789abcdef",
        events: new Set(["message.waiting", "user.offline"]),
        maxAgeMs: 2 * HOUR,
        timeoutMs: 1500,
      },
    },
  );
});

Deno.test("PORT accepts 0 to 65535 and surrounding spaces", () => {
  assert.equal(parseConfig({ PORT: "0" }).port, 0);
  assert.equal(parseConfig({ PORT: "65535" }).port, 65535);
  assert.equal(parseConfig({ PORT: " 8080 " }).port, 8080);
});

Deno.test("HOST accepts names, IPv4 and IPv6 addresses", () => {
  for (const host of ["localhost", "chat.example.com", "127.0.0.1", "::1", "[::]"]) {
    assert.equal(parseConfig({ HOST: host }).host, host);
  }
});

Deno.test("durations parse as bare seconds or with ms, s, m, h or d", () => {
  const cases: [string, number][] = [
    ["90", 90 * SECOND],
    ["90s", 90 * SECOND],
    ["15m", 15 * MINUTE],
    ["24h", DAY],
    ["7d", 7 * DAY],
    ["1500ms", 1500],
    ["1s", SECOND],
    ["366d", 366 * DAY],
  ];
  for (const [text, ms] of cases) {
    assert.equal(parseConfig({ TOKEN_TTL: text }).tokenTtlMs, ms, text);
  }
  assert.equal(parseConfig({ WS_IDLE_TIMEOUT: "90" }).wsIdleTimeoutSeconds, 90);
  assert.equal(parseConfig({ WS_IDLE_TIMEOUT: "2m" }).wsIdleTimeoutSeconds, 120);
  assert.equal(parseConfig({ WS_IDLE_TIMEOUT: "5000ms" }).wsIdleTimeoutSeconds, 5);
  assert.equal(parseConfig({ WS_IDLE_TIMEOUT: "1h" }).wsIdleTimeoutSeconds, 3600);
});

Deno.test("RECALL_WINDOW takes a duration up to 366 days; 0 turns recall off", () => {
  assert.equal(parseConfig({ RECALL_WINDOW: "90s" }).recallWindowMs, 90 * SECOND);
  assert.equal(parseConfig({ RECALL_WINDOW: "24h" }).recallWindowMs, DAY);
  assert.equal(parseConfig({ RECALL_WINDOW: "0" }).recallWindowMs, 0);
  for (const value of ["-1", "soon", "367d", "2 m"]) assertRefused("RECALL_WINDOW", value);
});

Deno.test("a bad storage quota is refused naming it; 0 turns a quota off", () => {
  for (const key of ["QUOTA_DAILY_MESSAGES", "QUOTA_DAILY_BYTES", "QUOTA_WAITING_MESSAGES"]) {
    for (const value of ["-1", "many", "1.5", "1e6"]) assertRefused(key, value);
  }
  assertRefused("QUOTA_DAILY_MESSAGES", "1000000001");
  assert.equal(parseConfig({ QUOTA_WAITING_MESSAGES: "0" }).limits.quotaWaitingMessages, 0);
});

Deno.test("a bad PORT is refused naming PORT", () => {
  for (const value of ["abc", "70000", "65536", "-1", "80.5", "8080x"]) {
    assertRefused("PORT", value);
  }
});

Deno.test("a bad TOKEN_TTL is refused naming TOKEN_TTL", () => {
  for (const value of ["0", "banana", "500ms", "999ms", "367d", "1.5h", "-1h", "h", "1 h"]) {
    assertRefused("TOKEN_TTL", value);
  }
});

Deno.test("a bad MAX_MESSAGE_CHARS is refused naming MAX_MESSAGE_CHARS", () => {
  for (const value of ["0", "abc", "1000001", "-5"]) assertRefused("MAX_MESSAGE_CHARS", value);
});

Deno.test("a bad MAX_FRAME_BYTES is refused naming MAX_FRAME_BYTES", () => {
  for (const value of ["10", "255", "67108865", "64k"]) assertRefused("MAX_FRAME_BYTES", value);
  assert.equal(parseConfig({ MAX_FRAME_BYTES: "256" }).maxFrameBytes, 256);
  assert.equal(parseConfig({ MAX_FRAME_BYTES: "67108864" }).maxFrameBytes, 64 * 1024 * 1024);
});

Deno.test("a bad WS_IDLE_TIMEOUT is refused naming WS_IDLE_TIMEOUT", () => {
  for (const value of ["2h", "soon", "-1", "1.5s"]) assertRefused("WS_IDLE_TIMEOUT", value);
  // Whole seconds only: a well-formed duration with a fraction of a second is refused too.
  for (const value of ["1500ms", "500ms"]) {
    assert.throws(
      () => parseConfig({ WS_IDLE_TIMEOUT: value }),
      (error: unknown) =>
        error instanceof ConfigError && error.key === "WS_IDLE_TIMEOUT" &&
        /WS_IDLE_TIMEOUT.*whole seconds/.test(error.message),
      value,
    );
  }
});

Deno.test("a bad HOST is refused naming HOST", () => {
  for (const value of ["a b", "host/path", "tom@host", "a\tb"]) assertRefused("HOST", value);
});

Deno.test("the new limit settings refuse bad values naming the key", () => {
  for (
    const [key, value] of [
      ["MSG_RATE", "0"],
      ["MSG_BURST", "x"],
      ["AUTH_WINDOW", "forever"],
      ["MAX_CONNECTIONS_PER_USER", "0"],
      ["MAX_BUFFERED_BYTES", "10"],
      ["ALLOWED_ORIGINS", "chat.example.com"],
      ["ALLOWED_ORIGINS", "https://chat.example.com/path"],
      ["TRUST_PROXY", "maybe"],
      ["LOG_FORMAT", "xml"],
      ["SQLITE_BUSY_TIMEOUT", "-1"],
      ["SQLITE_SYNCHRONOUS", "OFF"],
    ]
  ) {
    assert.throws(() => parseConfig({ [key]: value }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.key, key);
      assert.ok(error.message.includes(key));
      return true;
    }, `${key}=${value} is refused`);
  }
});

Deno.test("DATABASE_URL takes postgres:// or postgresql:// URLs; a bad one is refused", () => {
  assert.equal(
    parseConfig({ DATABASE_URL: "postgresql://localhost/chat" }).databaseUrl,
    "postgresql://localhost/chat",
  );
  for (const value of ["localhost:5432", "mysql://localhost/chat", "postgres://", "not a url"]) {
    assertRefused("DATABASE_URL", value);
  }
});

Deno.test("a refused DATABASE_URL does not echo its password", () => {
  assert.throws(
    () => parseConfig({ DATABASE_URL: "mysql://chat:hunter2@localhost/chat" }),
    (error: unknown) =>
      error instanceof ConfigError && error.key === "DATABASE_URL" &&
      !error.message.includes("hunter2") && error.message.includes("***"),
  );
  assert.equal(
    redactUrl("postgres://chat:hunter2@db:5432/chat"),
    "postgres://chat:***@db:5432/chat",
  );
  assert.equal(redactUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
});

Deno.test("REDIS_URL takes redis:// or rediss:// URLs and needs DATABASE_URL", () => {
  const db = { DATABASE_URL: "postgres://localhost/chat" };
  assert.equal(
    parseConfig({ ...db, REDIS_URL: "rediss://cache:6380" }).redisUrl,
    "rediss://cache:6380",
  );
  for (const value of ["cache:6379", "http://cache:6379", "redis://"]) {
    assert.throws(
      () => parseConfig({ ...db, REDIS_URL: value }),
      (error: unknown) => error instanceof ConfigError && error.key === "REDIS_URL",
      value,
    );
  }
  assert.throws(
    () => parseConfig({ REDIS_URL: "redis://cache:6379" }),
    (error: unknown) =>
      error instanceof ConfigError && error.key === "REDIS_URL" &&
      /DATABASE_URL/.test(error.message),
  );
});

Deno.test("DATABASE_SCHEMA, DATABASE_POOL_SIZE, REDIS_PREFIX and PRESENCE_TTL are checked", () => {
  for (const value of ["Chat", "1chat", "chat-eu", "a".repeat(64), 'x"; drop']) {
    assertRefused("DATABASE_SCHEMA", value);
  }
  for (const value of ["0", "1001", "ten"]) assertRefused("DATABASE_POOL_SIZE", value);
  for (const value of ["a b", "x".repeat(65), "chat*"]) assertRefused("REDIS_PREFIX", value);
  for (const value of ["500ms", "11m", "soon"]) assertRefused("PRESENCE_TTL", value);
  assert.equal(parseConfig({ PRESENCE_TTL: "1s" }).presenceTtlMs, SECOND);
  assert.equal(parseConfig({ PRESENCE_TTL: "10m" }).presenceTtlMs, 10 * MINUTE);
});

Deno.test("a bad WS_CLOSE_TIMEOUT, HTTP_BODY_TIMEOUT or MEMORY_LIMIT is refused naming it", () => {
  assert.throws(() => parseConfig({ WS_CLOSE_TIMEOUT: "2h" }), /WS_CLOSE_TIMEOUT/);
  assert.throws(() => parseConfig({ HTTP_BODY_TIMEOUT: "soon" }), /HTTP_BODY_TIMEOUT/);
  assert.throws(() => parseConfig({ MEMORY_LIMIT: "-1" }), /MEMORY_LIMIT/);
});
