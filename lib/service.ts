/**
 * Runs the chat service on `Deno.serve` with the repository and hub it is given, and stops it
 * in order: stop accepting, close every socket with 1001, finish in-flight work.
 */
import { Accounts } from "./auth/accounts.ts";
import { createApp } from "./app.ts";
import type { ChatSession } from "./chat/chat_session.ts";
import { DeliveryMarker } from "./chat/delivery_marker.ts";
import { CLOSE_CODE } from "./protocol/status.ts";
import { type Config, describeDatabase } from "./config.ts";
import type { Hub } from "./hub/hub.ts";
import type { Repository } from "./storage/repository.ts";
import { errorMessage, type Logger } from "./log.ts";
import { type Clock, systemClock } from "./time.ts";

/** How often expired tokens are deleted. */
const TOKEN_PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** What the service runs on. */
export interface ServiceOptions {
  readonly config: Config;
  readonly repository: Repository;
  readonly hub: Hub;
  readonly log: Logger;
  readonly clock?: Clock;
}

/** A listening service. */
export interface RunningService {
  /** The port it listens on (the real one when `PORT` was 0). */
  readonly port: number;
  readonly hostname: string;
  /** Stops accepting, closes every socket with 1001 and waits for in-flight work. */
  stop(): Promise<void>;
}

/** Starts listening; resolves once the port is bound. */
export function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, repository, hub, log } = options;
  const clock = options.clock ?? systemClock;
  const accounts = new Accounts({ repository, hub, clock, tokenTtlMs: config.tokenTtlMs });
  const deliveries = new DeliveryMarker(repository, log);
  const sessions = new Set<ChatSession>();
  const handler = createApp({
    repository,
    hub,
    accounts,
    deliveries,
    clock,
    log,
    maxMessageChars: config.maxMessageChars,
    maxFrameBytes: config.maxFrameBytes,
    wsIdleTimeoutSeconds: config.wsIdleTimeoutSeconds,
    onSession(session) {
      sessions.add(session);
      session.whenClosed.then(() => sessions.delete(session));
    },
  });
  const purge = setInterval(() => {
    accounts.purgeExpiredTokens().catch((error) =>
      log.error("token.purge_failed", { error: errorMessage(error) })
    );
  }, TOKEN_PURGE_INTERVAL_MS);

  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        port: config.port,
        hostname: config.host,
        onListen(address) {
          log.info("listening", {
            address: address.hostname,
            port: address.port,
            database: describeDatabase(config),
          });
          resolve({
            port: address.port,
            hostname: address.hostname,
            async stop() {
              clearInterval(purge);
              const finished = server.shutdown();
              // Every session, also those still opening, then whatever the hub holds.
              for (const session of [...sessions]) {
                session.terminate(null, CLOSE_CODE.GOING_AWAY, "Server shutting down");
              }
              // Frames in hand are stored and published before the hub lets go of Redis.
              await Promise.all([...sessions].map((session) => session.settled()));
              await hub.close(CLOSE_CODE.GOING_AWAY, "Server shutting down");
              await finished;
              await deliveries.flush();
            },
          });
        },
      }, handler);
    } catch (error) {
      clearInterval(purge);
      reject(error);
    }
  });
}
