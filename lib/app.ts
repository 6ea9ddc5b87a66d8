/**
 * The request handler: the route table and the one error path that turns anything thrown into
 * an envelope (503 for storage that may recover, else 500). Every response but a WebSocket
 * switch carries the security headers.
 */
import { API_STATUS } from "./protocol/status.ts";
import { errorMessage, type Logger } from "./log.ts";
import { StorageUnavailableError } from "./storage/errors.ts";
import type { Accounts } from "./auth/accounts.ts";
import type { AuthThrottle } from "./limits/auth_throttle.ts";
import { chatRoute, type ChatRouteContext } from "./chat/chat_route.ts";
import { envelope, RequestBodyAbortedError } from "./http/envelope.ts";
import { AttemptLimiter } from "./limits/attempt_limiter.ts";
import { dispatch, route, type RouteHandler } from "./http/router.ts";
import { clientAddress, type ClientInfo } from "./http/client_address.ts";
import { login, logout, register } from "./http/user_routes.ts";
import { history } from "./http/history_routes.ts";
import { recall } from "./http/recall_routes.ts";
import { conversationList, markRead } from "./http/conversation_routes.ts";
import { inboxRoute } from "./chat/inbox_route.ts";
import type { ConversationNotifier } from "./chat/conversation_notifier.ts";
import { health, metricsPage, readiness } from "./http/health_routes.ts";
import type { StaticFiles } from "./http/static_routes.ts";
import { type AdminContext, adminRoutes } from "./admin/admin_routes.ts";
import type { MessageWriter } from "./chat/message_writer.ts";
import type { Recaller } from "./chat/recaller.ts";

export type { ClientInfo };

/** What the handler needs. */
export interface AppContext extends ChatRouteContext, Omit<AdminContext, "messages"> {
  readonly accounts: Accounts;
  /** The one store-and-publish path, for sockets and the admin API. */
  readonly messages: MessageWriter;
  /** Read markers and the v2 pushes about conversations. */
  readonly notifier: ConversationNotifier;
  readonly throttle: AuthThrottle;
  /** How many proxies in front append to `X-Forwarded-For` (0: use the connection's address). */
  readonly trustedProxies: number;
  /** When set, `/metrics` answers only `Authorization: Bearer <metricsToken>` (`METRICS_TOKEN`). */
  readonly metricsToken: string | null;
  /** The chat page's files, served at `/` and `/assets/<name>`. */
  readonly staticFiles: StaticFiles;
  /** The one recall path, for sockets and `DELETE /v1/messages/<id>`. */
  readonly recaller: Recaller;
}

/** At most one `http.body_aborted` line per client address in this window. */
export const ABORTED_BODY_LOG_WINDOW_MS = 60_000;

/** Headers every HTTP response carries (a page may set its own stricter or looser CSP). */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cross-origin-resource-policy": "same-origin",
};

/**
 * The one error path: anything a handler threw, as an envelope (503 for storage that may
 * recover, else 500). An aborted body logs at most one line per address per window.
 */
function failureResponse(
  error: unknown,
  request: Request,
  url: URL,
  address: string,
  log: Logger,
  abortedBodies: AttemptLimiter,
): Response {
  if (error instanceof RequestBodyAbortedError) {
    if (abortedBodies.retryAfter(address) === 0) {
      log.warn("http.body_aborted", { method: request.method, path: url.pathname, address });
    }
    abortedBodies.record(address);
    return envelope(400, API_STATUS.INVALID_INPUT, "Request body incomplete");
  }
  log.error("http.error", {
    method: request.method,
    path: url.pathname,
    error: errorMessage(error),
  });
  return error instanceof StorageUnavailableError
    ? envelope(503, API_STATUS.UNAVAILABLE, "Storage busy, try again", {}, { "retry-after": "1" })
    : envelope(500, API_STATUS.INTERNAL_ERROR, "Internal server error");
}

/** Builds the service's `fetch`-style handler, once. */
export function createApp(
  context: AppContext,
): (request: Request, info?: ClientInfo) => Promise<Response> {
  const { accounts, repository, hub, metrics, staticFiles, recaller } = context;
  const asset: RouteHandler = (request, { url }) =>
    Promise.resolve(
      staticFiles.has(url.pathname)
        ? staticFiles.serve(request, url.pathname)
        : envelope(404, API_STATUS.NOT_FOUND, "Not found"),
    );
  const routes = [
    route("/", { GET: asset }),
    route("/assets/:name", { GET: asset }),
    route("/v1/user", { POST: (r, c) => register(r, c.address, context) }),
    route("/v1/user/token", {
      POST: (r, c) => login(r, c.address, context),
      DELETE: (r) => logout(r, accounts, hub),
    }),
    route("/v1/chat/:peer/messages", {
      GET: (r, c) => history(r, c.url, c.params.peer, accounts, repository),
    }),
    route("/v1/chat/:peer/read", { POST: (r, c) => markRead(r, c.params.peer, context) }),
    route("/v1/chat/:peer", { GET: chatRoute(context) }),
    route("/v1/messages/:id", { DELETE: (r, c) => recall(r, c.params.id, accounts, recaller) }),
    route("/v1/conversations", { GET: (r, c) => conversationList(r, c.url, context) }),
    route("/v1/inbox", { GET: inboxRoute(context) }),
    ...adminRoutes(context).map(([path, methods]) => route(path, methods)),
    route("/healthz", { GET: health }),
    route("/readyz", {
      GET: () =>
        readiness(repository, hub, context.clock, (ms) => context.messages.storeFailedWithin(ms)),
    }),
    route("/metrics", { GET: (r) => metricsPage(metrics, r, context.metricsToken) }),
  ];

  // An aborted body is the client's doing and cheap to repeat: one line per address per minute.
  const abortedBodies = new AttemptLimiter(1, ABORTED_BODY_LOG_WINDOW_MS, context.clock);
  return async (request, info) => {
    const url = new URL(request.url);
    const address = clientAddress(request, info, context.trustedProxies);
    let response: Response;
    try {
      response = await dispatch(routes, request, url, address);
    } catch (error) {
      if (error instanceof RequestBodyAbortedError) metrics.httpBodiesAborted.inc();
      response = failureResponse(error, request, url, address, context.log, abortedBodies);
    }
    // A 101 switching to WebSocket carries Deno's headers only.
    if (response.status !== 101) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
        if (!response.headers.has(name)) response.headers.set(name, value);
      }
    }
    return response;
  };
}
