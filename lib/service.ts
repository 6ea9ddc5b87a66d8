/**
 * Wires the service from its settings, repository and hub: every component the request handler
 * needs is built here, once (`buildService`); `startService` then listens with `Deno.serve` and
 * stops in order: stop accepting, close every socket with 1001, finish in-flight work.
 */
import { Accounts } from "./auth/accounts.ts";
import { SessionAuthenticator } from "./auth/authenticator.ts";
import type { JwtVerifier } from "./auth/jwt_verdict.ts";
import { type AppContext, createApp } from "./app.ts";
import { StaticFiles } from "./http/static_routes.ts";
import { ASSETS } from "./web/assets.ts";
import type { TrackedSession } from "./chat/chat_route.ts";
import { DeliveryMarker } from "./chat/delivery_marker.ts";
import { DISCONNECT } from "./protocol/disconnect.ts";
import { type Config, describeDatabase } from "./config.ts";
import type { Hub } from "./hub/hub.ts";
import type { Repository } from "./storage/repository.ts";
import { errorMessage, type Logger } from "./log.ts";
import { type Clock, systemClock } from "./time.ts";
import { EventLoopLag, Metrics } from "./metrics.ts";
import { AuthThrottle } from "./limits/auth_throttle.ts";
import { ConnectionCounter } from "./limits/connection_counter.ts";
import { AttemptLimiter } from "./limits/attempt_limiter.ts";
import { ApiKeys } from "./admin/api_keys.ts";
import { MessageWriter } from "./chat/message_writer.ts";
import { withBodyTimeout } from "./http/body_timeout.ts";
import { type ResilientServer, serveResilient } from "./http/resilient_server.ts";
import { type DroppableSocket, MemoryGuard } from "./limits/memory_guard.ts";
import { Recaller } from "./chat/recaller.ts";
import { SocketRecalls } from "./chat/socket_recalls.ts";
import { ConversationNotifier } from "./chat/conversation_notifier.ts";
import { WebhookDispatcher } from "./webhooks/dispatcher.ts";
import type { PresenceRecorder } from "./webhooks/presence_recorder.ts";

/** Least time between two log lines about failing to accept connections. */
const ACCEPT_WARN_INTERVAL_MS = 10_000;

/** How often expired tokens are deleted. */
const TOKEN_PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** What the service runs on. */
export interface ServiceOptions {
  readonly config: Config;
  readonly repository: Repository;
  readonly hub: Hub;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Metrics to count into; a fresh set by default. */
  readonly metrics?: Metrics;
  /** Verifies the app's JWTs (`JWT_*`); absent when JWT sign-in is off. */
  readonly jwt?: JwtVerifier;
  /** Records the presence changes the hub reports (given to the hub when it was built). */
  readonly presence?: PresenceRecorder;
  /** The webhook sender's `fetch`; replaceable in tests. */
  readonly fetch?: typeof fetch;
}

/** A listening service. */
export interface RunningService {
  /** The port it listens on (the real one when `PORT` was 0). */
  readonly port: number;
  readonly hostname: string;
  /** Stops accepting, closes every socket with 1001 and waits for in-flight work. */
  stop(): Promise<void>;
}

/** The service's parts, built once: the handler's context and what shutdown needs. */
export interface Service {
  readonly context: AppContext;
  /** Every chat session not yet closed, also those still opening. */
  readonly sessions: ReadonlySet<TrackedSession>;
  /** Starts the background timers (token purge, event-loop lag). */
  startTimers(): void;
  /** Stops them. */
  stopTimers(): void;
  /** Sends the webhook outbox (when `WEBHOOK_URL` is set) until `stopSending`. */
  startSending(): void;
  /** Waits for presence writes in hand, then stops the webhook sender. */
  stopSending(): Promise<void>;
}

/** The gauges read at scrape time: open sockets, online users, event-loop lag. */
function addGauges(metrics: Metrics, connections: ConnectionCounter, lag: EventLoopLag): void {
  metrics.gauge(
    "chat_open_connections",
    "Chat sockets open on this node.",
    () => connections.total,
  );
  metrics.gauge(
    "chat_online_users",
    "Users holding at least one chat socket on this node.",
    () => connections.users,
  );
  metrics.gauge(
    "chat_event_loop_lag_seconds",
    "How late a 500 ms timer fired, last sample.",
    () => lag.seconds,
  );
}

/** The webhook sender, or null when `WEBHOOK_URL` is not set. */
function buildDispatcher(
  options: ServiceOptions,
  clock: Clock,
  metrics: Metrics,
): WebhookDispatcher | null {
  const { config, repository, log } = options;
  if (config.webhook === null) return null;
  return new WebhookDispatcher({
    repository,
    settings: config.webhook,
    clock,
    log,
    metrics,
    fetch: options.fetch,
  });
}

/** The store-and-publish path, with the quota and the webhook events it records. */
function buildMessageWriter(
  options: ServiceOptions,
  metrics: Metrics,
  notifier: ConversationNotifier,
  onEventsStored: () => void,
): MessageWriter {
  const { config, repository, hub, log } = options;
  return new MessageWriter({
    notifier,
    repository,
    hub,
    metrics,
    log,
    webhookEvents: config.webhook?.events,
    onEventsStored,
    quota: {
      dailyMessages: config.limits.quotaDailyMessages,
      dailyBytes: config.limits.quotaDailyBytes,
      waitingMessages: config.limits.quotaWaitingMessages,
    },
  });
}

/**
 * The parts that plug the service into an app: the authenticator (chat tokens and JWTs), the
 * accounts over it, the webhook sender and the store-and-publish path that wakes it.
 */
function buildIntegration(options: ServiceOptions, clock: Clock, metrics: Metrics) {
  const { config, repository, hub, log } = options;
  const authenticator = new SessionAuthenticator({
    repository,
    clock,
    log,
    metrics,
    jwt: options.jwt,
  });
  const accounts = new Accounts({
    repository,
    clock,
    tokenTtlMs: config.tokenTtlMs,
    authenticator,
  });
  const dispatcher = buildDispatcher(options, clock, metrics);
  const wakeSender = () => dispatcher?.wake();
  const notifier = new ConversationNotifier({ repository, hub, log });
  if (options.presence !== undefined) {
    options.presence.onRecorded = wakeSender;
    options.presence.onChanged = (userId, online, at) =>
      notifier.presenceChanged(userId, online, at);
  }
  return {
    authenticator,
    accounts,
    messages: buildMessageWriter(options, metrics, notifier, wakeSender),
    notifier,
    apiKeys: new ApiKeys(repository, clock),
    keyFailures: new AttemptLimiter(config.limits.authMaxPerIp, config.limits.authWindowMs, clock),
    startSending() {
      dispatcher?.start();
    },
    async stopSending() {
      await options.presence?.settled();
      await notifier.settled();
      await dispatcher?.stop();
    },
  };
}

/**
 * The one recall path (for `DELETE /v1/messages/<id>`) and the sockets' recall frames over it; a
 * recall updates both users' inboxes (30021).
 */
function buildRecalls(options: ServiceOptions, clock: Clock, notifier: ConversationNotifier) {
  const { config, repository, hub, log } = options;
  const recaller = new Recaller({
    repository,
    hub,
    clock,
    windowMs: config.recallWindowMs,
    async onRecalled({ fromUserId, toUserId }) {
      await notifier.updateInbox(fromUserId, toUserId);
      if (toUserId !== fromUserId) await notifier.updateInbox(toUserId, fromUserId);
    },
  });
  const { messageRate: rate, messageBurst: burst } = config.limits;
  return { recaller, recalls: new SocketRecalls({ recaller, clock, rate, burst, log }) };
}

/** Sheds the newest sockets when the process's memory passes `MEMORY_LIMIT`. */
function buildMemoryGuard(
  options: ServiceOptions,
  metrics: Metrics,
  liveSockets: Set<DroppableSocket>,
): MemoryGuard {
  const { config, log } = options;
  return new MemoryGuard({
    limitBytes: config.network.memoryLimitBytes,
    readRss: () => Deno.memoryUsage().rss,
    sockets: liveSockets,
    onShed(dropped, rss) {
      metrics.connectionsRefused.inc({ reason: "memory" }, dropped);
      log.warn("memory.shed", { dropped, rss_bytes: rss, limit: config.network.memoryLimitBytes });
    },
  });
}

/** The background timers: event-loop lag, the memory guard and the token purge. */
function backgroundTimers(
  lag: EventLoopLag,
  memory: MemoryGuard,
  accounts: Accounts,
  log: Logger,
): Pick<Service, "startTimers" | "stopTimers"> {
  let purge: ReturnType<typeof setInterval> | undefined;
  return {
    startTimers() {
      lag.start();
      memory.start();
      purge = setInterval(() => {
        accounts.purgeExpiredTokens().catch((error) =>
          log.error("token.purge_failed", { error: errorMessage(error) })
        );
      }, TOKEN_PURGE_INTERVAL_MS);
    },
    stopTimers() {
      clearInterval(purge);
      lag.stop();
      memory.stop();
    },
  };
}

/** Builds every component of the service from its settings, repository and hub. */
export function buildService(options: ServiceOptions): Service {
  const { config, repository, hub, log } = options;
  const clock = options.clock ?? systemClock;
  const metrics = options.metrics ?? new Metrics();
  const { startSending, stopSending, ...integration } = buildIntegration(options, clock, metrics);
  const connections = new ConnectionCounter(config.limits);
  const sessions = new Set<TrackedSession>();
  const lag = new EventLoopLag();
  const liveSockets = new Set<DroppableSocket>();
  const memory = buildMemoryGuard(options, metrics, liveSockets);
  let connectionsOpened = 0;
  addGauges(metrics, connections, lag);
  const deliveries = new DeliveryMarker(repository, log);
  deliveries.onDelivered = (pairs) => integration.notifier.delivered(pairs);
  const context: AppContext = {
    repository,
    hub,
    ...integration,
    deliveries,
    ...buildRecalls(options, clock, integration.notifier),
    clock,
    log,
    metrics,
    throttle: new AuthThrottle(config.limits, clock),
    connections,
    limits: config.limits,
    maxConnectionsPerUser: config.limits.maxConnectionsPerUser,
    allowedOrigins: config.allowedOrigins,
    trustedProxies: config.trustedProxies,
    metricsToken: config.metricsToken,
    maxMessageChars: config.maxMessageChars,
    maxFrameBytes: config.maxFrameBytes,
    wsIdleTimeoutSeconds: config.wsIdleTimeoutSeconds,
    wsCloseTimeoutMs: config.network.closeTimeoutMs,
    liveSockets,
    staticFiles: new StaticFiles(ASSETS),
    nextConnectionId: () => ++connectionsOpened,
    onSession(session) {
      sessions.add(session);
    },
    onSessionClosed(session) {
      sessions.delete(session);
    },
  };
  return {
    context,
    sessions,
    ...backgroundTimers(lag, memory, integration.accounts, log),
    startSending,
    stopSending,
  };
}

/** The longest shutdown waits for the clients' close frames (WS_CLOSE_TIMEOUT drops them sooner). */
const CLOSE_HANDSHAKE_WAIT_MS = 5_000;

/** Closes every session, lets the frames in hand finish, then lets go of the hub. */
async function drain(service: Service): Promise<void> {
  const { sessions, context } = service;
  // Every session, also those still opening, then whatever the hub holds.
  const closing = [...sessions];
  for (const session of closing) session.terminate(DISCONNECT.GOING_AWAY);
  // Frames in hand are stored and published before the hub lets go of Redis.
  await Promise.all(closing.map((session) => session.settled()));
  await context.notifier.settled();
  await context.hub.close(DISCONNECT.GOING_AWAY);
  // Each close handshake ends before the process does: a connection that still holds unread data
  // when the process exits is reset, and a reset can destroy the 1001 the client has not read
  // yet. A client that does not answer is dropped after WS_CLOSE_TIMEOUT; bounded here too.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(closing.map((session) => session.whenSocketClosed)),
    new Promise((resolve) => timer = setTimeout(resolve, CLOSE_HANDSHAKE_WAIT_MS)),
  ]);
  clearTimeout(timer);
}

/** Starts listening; resolves once the port is bound. */
export function startService(options: ServiceOptions): Promise<RunningService> {
  const { config, log } = options;
  const service = buildService(options);
  const handler = withBodyTimeout(createApp(service.context), config.network.bodyTimeoutMs);
  let server: ResilientServer;
  let warnedAt = -Infinity;
  try {
    server = serveResilient({
      hostname: config.host,
      port: config.port,
      onAcceptFailed(error) {
        service.context.metrics.connectionsRefused.inc({ reason: "accept_failed" });
        // At most one line per ACCEPT_WARN_INTERVAL_MS: the server retries every 100 ms.
        if (performance.now() - warnedAt < ACCEPT_WARN_INTERVAL_MS) return;
        warnedAt = performance.now();
        log.warn("http.accept_failed", { error: errorMessage(error) });
      },
    }, handler);
  } catch (error) {
    return Promise.reject(error);
  }
  service.startTimers();
  service.startSending();
  const { hostname, port } = server.addr;
  log.info("listening", { address: hostname, port, database: describeDatabase(config) });
  return Promise.resolve({
    port,
    hostname,
    async stop() {
      service.stopTimers();
      const finished = server.shutdown();
      await drain(service);
      await finished;
      await service.context.deliveries.flush();
      await service.stopSending();
    },
  });
}
