/**
 * Composition root: settings -> repository + hub -> service -> signals. The only module that
 * reads the environment, opens the database and installs signal handlers.
 *
 * The embedded default is SQLite and the in-process hub. PostgreSQL (`DATABASE_URL`), Redis
 * (`REDIS_URL`) and the JWT verifier (`JWT_*`, on `npm:jose`) are loaded with a dynamic
 * `import()` only when set, so the default never loads their packages.
 *
 *   main.ts                 run the service
 *   main.ts user add <name> add a user (prompts for the password)
 *   main.ts key add|list|revoke [<name>]  the admin API's keys
 */
import { dirname } from "node:path";
import { type Config, ConfigError, parseConfig, redactUrl } from "./lib/config.ts";
import { createLogger, errorMessage, type Logger } from "./lib/log.ts";
import { unknownSettings } from "./lib/config_warnings.ts";
import { SqliteRepository } from "./lib/storage/sqlite_repository.ts";
import type { Repository } from "./lib/storage/repository.ts";
import { MemoryHub } from "./lib/hub/memory_hub.ts";
import type { Hub } from "./lib/hub/hub.ts";
import { startService } from "./lib/service.ts";
import { DISCONNECT } from "./lib/protocol/disconnect.ts";
import { Accounts } from "./lib/auth/accounts.ts";
import { processTerminal, runUserCommand } from "./lib/cli/user_add.ts";
import { runKeyCommand } from "./lib/cli/key_command.ts";
import { ApiKeys } from "./lib/admin/api_keys.ts";
import { PresenceRecorder } from "./lib/webhooks/presence_recorder.ts";
import type { UserPresenceListener } from "./lib/hub/hub.ts";
import { systemClock } from "./lib/time.ts";
import { StopRequest } from "./lib/process/stop_request.ts";
import type { JwtVerifier } from "./lib/auth/jwt_verdict.ts";

const writeLine = (line: string, level: "info" | "warn" | "error") => {
  if (level === "info") console.log(line);
  else console.error(line);
};
// Text until the settings are read; then in the format they ask for.
let log = createLogger(writeLine);

// The modules only a setting needs, and their npm packages (postgres, @redis/client, jose).
const POSTGRES_MODULE = "./lib/storage/postgres_repository.ts";
const REDIS_MODULE = "./lib/hub/redis_hub.ts";
const JWT_MODULE = "./lib/auth/jwt.ts";
type PostgresModule = typeof import("./lib/storage/postgres_repository.ts");
type RedisModule = typeof import("./lib/hub/redis_hub.ts");
type JwtModule = typeof import("./lib/auth/jwt.ts");

/**
 * Imports a module that only a setting needs. The specifier is a variable on purpose: `deno run`
 * then leaves the module out of the start-up graph, so with `--unstable-npm-lazy-caching` (the
 * tasks) its npm packages are not fetched unless the setting is set, and the embedded default
 * starts with an empty cache and no registry (`tests/process/first_start_test.ts`). A literal
 * `import("./lib/...")` would make Deno fetch them before the first line runs. `deno compile`
 * names these modules with `--include`.
 */
function importOptional<T>(specifier: string): Promise<T> {
  return import(specifier);
}

/** Opens the repository the settings name; a failure message names the setting. */
async function openRepository(config: Config, log: Logger): Promise<Repository> {
  if (config.databaseUrl === null) {
    try {
      if (config.dbPath !== ":memory:") {
        Deno.mkdirSync(dirname(config.dbPath), { recursive: true });
      }
      return new SqliteRepository(config.dbPath, {
        busyTimeoutMs: config.sqliteBusyTimeoutMs,
        synchronous: config.sqliteSynchronous,
        log,
      });
    } catch (error) {
      throw new Error(`Cannot open database DB_PATH=${config.dbPath}: ${errorMessage(error)}`);
    }
  }
  try {
    const { PostgresRepository } = await importOptional<PostgresModule>(POSTGRES_MODULE);
    const repository = await PostgresRepository.open({
      url: config.databaseUrl,
      schema: config.databaseSchema,
      poolSize: config.databasePoolSize,
    });
    log.info("database", {
      engine: "postgresql",
      url: redactUrl(config.databaseUrl),
      schema: config.databaseSchema,
      pool: config.databasePoolSize,
    });
    return repository;
  } catch (error) {
    throw new Error(
      `Cannot open database DATABASE_URL=${redactUrl(config.databaseUrl)} ` +
        `(DATABASE_SCHEMA=${config.databaseSchema}): ${errorMessage(error)}`,
    );
  }
}

/** Opens the hub the settings name; a failure message names the setting. */
async function openHub(
  config: Config,
  log: Logger,
  onUserPresence: UserPresenceListener,
): Promise<Hub> {
  if (config.redisUrl === null) return new MemoryHub({ onUserPresence });
  try {
    const { RedisHub } = await importOptional<RedisModule>(REDIS_MODULE);
    const hub = await RedisHub.open({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      presenceTtlMs: config.presenceTtlMs,
      log,
      onUserPresence,
    });
    log.info("hub", {
      engine: "redis",
      url: redactUrl(config.redisUrl),
      prefix: config.redisPrefix,
      node: hub.nodeId,
      presence_ttl_ms: config.presenceTtlMs,
    });
    return hub;
  } catch (error) {
    throw new Error(
      `Cannot connect to Redis REDIS_URL=${redactUrl(config.redisUrl)}: ${errorMessage(error)}`,
    );
  }
}

/** The verifier of the app's JWTs when a `JWT_*` key is set; a failure names the setting. */
async function loadJwtVerifier(config: Config): Promise<JwtVerifier | undefined> {
  const settings = config.jwt;
  if (settings === null) return undefined;
  const key = settings.key;
  const setting = key.kind === "secret"
    ? "JWT_SECRET"
    : key.kind === "public_key"
    ? `JWT_PUBLIC_KEY=${key.path}`
    : `JWT_JWKS_URL=${key.url}`;
  try {
    const publicKeyPem = key.kind === "public_key" ? await Deno.readTextFile(key.path) : undefined;
    const { createJwtVerifier } = await importOptional<JwtModule>(JWT_MODULE);
    return await createJwtVerifier(settings, { clock: systemClock, publicKeyPem });
  } catch (error) {
    throw new Error(`Cannot use ${setting}: ${errorMessage(error)}`);
  }
}

/**
 * The process's soft and hard limits on open descriptors, as `tools/start.sh` (the start
 * command) passes them in `NOFILE_LIMIT` (`soft/hard`), or `null` when started otherwise.
 */
function descriptorLimits(): { soft: string; hard: string } | null {
  const match = /^(\w+)\/(\w+)$/.exec(Deno.env.get("NOFILE_LIMIT") ?? "");
  return match === null ? null : { soft: match[1], hard: match[2] };
}

/** Logs the descriptor limits the start command left (a warning when below the hard one). */
function logDescriptorLimits(): void {
  const descriptors = descriptorLimits();
  if (descriptors === null) return;
  const fields = { ...descriptors, at_hard_limit: descriptors.soft === descriptors.hard };
  if (fields.at_hard_limit) log.info("descriptors", fields);
  else log.warn("descriptors", fields);
}

/**
 * The process never ends for a promise nobody handled: the runtime's own WebSocket and HTTP
 * loops reject such promises when a client makes them fail (a text message over the engine's
 * longest string, descriptors running out in the accept loop); they are logged instead.
 */
function keepRunningOnUnhandledRejections(): void {
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.error("unhandled_rejection", { error: errorMessage(event.reason) });
  });
}

/** Runs `user add <name>` or `key add|list|revoke`; returns the exit code. */
function runCommand(
  args: readonly string[],
  config: Config,
  repository: Repository,
): Promise<number> {
  if (args[0] === "key") {
    return runKeyCommand(args.slice(1), new ApiKeys(repository, systemClock), {
      print: (line) => console.log(line),
    });
  }
  const accounts = new Accounts({ repository, clock: systemClock, tokenTtlMs: config.tokenTtlMs });
  return runUserCommand(args.slice(1), accounts, processTerminal());
}

/** Logs each name in the environment that looks like a misspelled setting (never its value). */
function warnUnknownSettings(env: Record<string, string>, log: Logger): void {
  for (const { key, didYouMean } of unknownSettings(env)) {
    log.warn("config.unknown_setting", { setting: key, did_you_mean: didYouMean ?? undefined });
  }
}

/**
 * Installs the SIGINT/SIGTERM handlers. A signal to the whole process group arrives twice
 * (directly and forwarded by `deno task`): a repeat within 2 s is the same request; a later one
 * while stopping means "exit now".
 */
function listenForStop(): StopRequest {
  const stopRequest = new StopRequest(systemClock);
  const onSignal = (signal: Deno.Signal) => () => {
    const verdict = stopRequest.receive(signal);
    if (verdict === "same_request") log.info("stop_signal_repeated", { signal });
    if (verdict === "force_exit") {
      log.warn("forced_exit", { signal });
      Deno.exit(1);
    }
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  return stopRequest;
}

async function main(args: readonly string[]): Promise<number> {
  const env = Deno.env.toObject();
  let config: Config;
  try {
    config = parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  log = createLogger(writeLine, config.logFormat);
  warnUnknownSettings(env, log);

  let repository: Repository;
  try {
    repository = await openRepository(config, log);
  } catch (error) {
    console.error(errorMessage(error));
    return 1;
  }

  if (args[0] === "user" || args[0] === "key") {
    // Adding a user or a key touches only the database: no hub, no Redis, no socket.
    try {
      return await runCommand(args, config, repository);
    } finally {
      await repository.close();
    }
  }

  return await serve(config, repository);
}

/** Runs the service until a stop signal; closes `repository` in every case. */
async function serve(config: Config, repository: Repository): Promise<number> {
  // Signal handlers go in before the port opens, so a signal right after the listening line
  // is never handled by the default action (which would skip the orderly shutdown).
  const stopRequest = listenForStop();
  keepRunningOnUnhandledRejections();
  logDescriptorLimits();

  let hub: Hub;
  let jwt: JwtVerifier | undefined;
  const presence = new PresenceRecorder({
    repository,
    clock: systemClock,
    log,
    webhookEvents: config.webhook?.events,
  });
  try {
    jwt = await loadJwtVerifier(config);
    hub = await openHub(config, log, presence.listener);
  } catch (error) {
    console.error(errorMessage(error));
    await repository.close();
    return 1;
  }

  let service;
  try {
    service = await startService({ config, repository, hub, log, jwt, presence });
  } catch (error) {
    console.error(
      `Cannot listen on ${config.host}:${config.port} (HOST, PORT): ${errorMessage(error)}`,
    );
    await hub.close(DISCONNECT.GOING_AWAY);
    await repository.close();
    return 1;
  }

  const signal = await stopRequest.requested;
  log.info("stopping", { signal });
  await service.stop();
  await repository.close();
  log.info("stopped");
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    log.error("fatal", { error: errorMessage(error) });
    Deno.exit(1);
  }
}
