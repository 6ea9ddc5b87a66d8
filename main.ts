/**
 * Composition root: settings -> repository + hub -> service -> signals. The only module that
 * reads the environment, opens the database and installs signal handlers.
 *
 *   main.ts                 run the service
 *   main.ts user add <name> add a user (prompts for the password)
 */
import { dirname } from "node:path";
import { type Config, ConfigError, parseConfig } from "./lib/config.ts";
import { createLogger, errorMessage } from "./lib/log.ts";
import { SqliteRepository } from "./lib/storage/sqlite_repository.ts";
import { MemoryHub } from "./lib/hub/memory_hub.ts";
import { startService } from "./lib/service.ts";
import { Accounts } from "./lib/auth/accounts.ts";
import { processTerminal, runUserCommand } from "./lib/cli/user_add.ts";
import { systemClock } from "./lib/time.ts";

const writeLine = (line: string, level: "info" | "warn" | "error") => {
  if (level === "info") console.log(line);
  else console.error(line);
};
// Text until the settings are read; then in the format they ask for.
let log = createLogger(writeLine);

function openRepository(config: Config): SqliteRepository {
  if (config.dbPath !== ":memory:") Deno.mkdirSync(dirname(config.dbPath), { recursive: true });
  return new SqliteRepository(config.dbPath, { busyTimeoutMs: config.sqliteBusyTimeoutMs });
}

async function main(args: readonly string[]): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(Deno.env.toObject());
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  log = createLogger(writeLine, config.logFormat);

  let repository: SqliteRepository;
  try {
    repository = openRepository(config);
  } catch (error) {
    console.error(`Cannot open database DB_PATH=${config.dbPath}: ${errorMessage(error)}`);
    return 1;
  }
  const hub = new MemoryHub();

  if (args[0] === "user") {
    const accounts = new Accounts({
      repository,
      hub,
      clock: systemClock,
      tokenTtlMs: config.tokenTtlMs,
    });
    try {
      return await runUserCommand(args.slice(1), accounts, processTerminal());
    } finally {
      await repository.close();
    }
  }

  // Signal handlers go in before the port opens, so a signal right after the listening line
  // is never handled by the default action (which would skip the orderly shutdown).
  const stopRequested = Promise.withResolvers<Deno.Signal>();
  let stopping = false;
  const onSignal = (signal: Deno.Signal) => () => {
    if (stopping) {
      // A second signal while shutting down: the operator wants out now.
      log.warn("forced_exit", { signal });
      Deno.exit(1);
    }
    stopping = true;
    stopRequested.resolve(signal);
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));

  let service;
  try {
    service = await startService({ config, repository, hub, log });
  } catch (error) {
    console.error(
      `Cannot listen on ${config.host}:${config.port} (HOST, PORT): ${errorMessage(error)}`,
    );
    await repository.close();
    return 1;
  }

  const signal = await stopRequested.promise;
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
