/**
 * The request handler: the route table, the chat upgrade with its admission checks, and the one
 * error path that turns anything thrown into a 500 envelope.
 */
import { API_STATUS } from "./protocol/status.ts";
import { DISCONNECT } from "./protocol/disconnect.ts";
import { checkUsername, usernameKey } from "./users/username.ts";
import { errorMessage } from "./log.ts";
import { StorageUnavailableError } from "./storage/errors.ts";
import type { Accounts } from "./auth/accounts.ts";
import type { AuthThrottle } from "./limits/auth_throttle.ts";
import type { ConnectionCounter } from "./limits/connection_counter.ts";
import { type Admission, type ChatContext, ChatSession } from "./chat/chat_session.ts";
import { isWebSocketUpgrade, upgradeToChatSocket } from "./chat/deno_socket.ts";
import { envelope } from "./http/envelope.ts";
import { login, logout, register } from "./http/user_routes.ts";
import { history } from "./http/history_routes.ts";
import type { StaticFiles } from "./http/static_routes.ts";

/** What the handler needs. */
export interface AppContext extends ChatContext {
  readonly accounts: Accounts;
  readonly throttle: AuthThrottle;
  readonly connections: ConnectionCounter;
  readonly wsIdleTimeoutSeconds: number;
  readonly maxConnectionsPerUser: number;
  /** Browser origins allowed to open chat sockets; `null` allows any. */
  readonly allowedOrigins: ReadonlySet<string> | null;
  /** Take the client address from `X-Forwarded-For`. */
  readonly trustProxy: boolean;
  /** The chat page's files, served at `/` and `/assets/<name>`. */
  readonly staticFiles: StaticFiles;
  /** Called with each chat session as it is created, so the owner can wait for it at shutdown. */
  readonly onSession?: (session: ChatSession) => void;
}

/** Where the request came from, as `Deno.serve` tells it. */
export interface ClientInfo {
  readonly remoteAddr: { readonly hostname: string } | Deno.Addr;
}

interface RequestContext {
  readonly url: URL;
  readonly params: readonly string[];
  /** The client's address, for limits. */
  readonly address: string;
}

type Handler = (request: Request, context: RequestContext) => Promise<Response>;

interface Route {
  /** The path split on `/`, with `*` for a segment that is a parameter. */
  readonly segments: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
}

/** Headers every HTTP response carries (a page may set its own stricter or looser CSP). */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "cross-origin-resource-policy": "same-origin",
};

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function match(route: Route, segments: readonly string[]): string[] | null {
  if (route.segments.length !== segments.length) return null;
  const params: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    if (route.segments[i] === "*") {
      const decoded = decodeSegment(segments[i]);
      if (decoded === null || decoded === "") return null;
      params.push(decoded);
    } else if (route.segments[i] !== segments[i]) return null;
  }
  return params;
}

function clientAddress(
  request: Request,
  info: ClientInfo | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const remote = info?.remoteAddr;
  return remote !== undefined && "hostname" in remote ? remote.hostname : "unknown";
}

/** Decides, before the upgrade, what an opening chat socket will be told. */
async function admit(context: AppContext, url: URL, peerName: string): Promise<Admission> {
  const session = await context.accounts.authenticate(url.searchParams.get("token"));
  if (session === null) {
    context.metrics.authFailures.inc({ kind: "token" });
    return { admitted: false, disconnect: DISCONNECT.TOKEN_FAILED };
  }
  const name = checkUsername(peerName);
  const peer = name.ok ? await context.repository.findUser(usernameKey(name.username)) : null;
  if (peer === null) {
    return { admitted: false, disconnect: DISCONNECT.targetNotFound(peerName) };
  }
  if (context.connections.userAtCap(String(session.user.id))) {
    context.metrics.connectionsRefused.inc({ reason: "user" });
    return {
      admitted: false,
      disconnect: DISCONNECT.tooManyConnections(context.maxConnectionsPerUser),
    };
  }
  return {
    admitted: true,
    session,
    peer: { id: peer.id, username: peer.username },
    receipts: url.searchParams.get("ack") === "1",
  };
}

/** How long `/readyz` waits for each dependency to answer. */
export const READY_TIMEOUT_MS = 2000;

/** Resolves with "up" when `check` settles in time and well, "down" otherwise. */
async function probe(check: () => Promise<void>): Promise<"up" | "down"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"down">((resolve) => {
    timer = setTimeout(() => resolve("down"), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().then(() => "up" as const), timeout]);
  } catch {
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /readyz`: 200 when the database and the hub answer, else 503 naming what is down. */
async function readiness(context: AppContext): Promise<Response> {
  const [database, hub] = await Promise.all([
    probe(() => context.repository.ping()),
    probe(() => context.hub.ping()),
  ]);
  const body = { database, hub };
  const down = Object.entries(body).filter(([, state]) => state === "down").map(([name]) => name);
  if (down.length === 0) return envelope(200, API_STATUS.OK, "Ready", body);
  return envelope(503, API_STATUS.UNAVAILABLE, `Not ready: ${down.join(" and ")} down`, body);
}

/** Builds the service's `fetch`-style handler. */
export function createApp(
  context: AppContext,
): (request: Request, info?: ClientInfo) => Promise<Response> {
  const { accounts, repository, log, connections, metrics } = context;

  const chat: Handler = async (request, { url, params: [peerName], address }) => {
    if (!isWebSocketUpgrade(request)) {
      return envelope(
        426,
        API_STATUS.UPGRADE_REQUIRED,
        "Upgrade required: open this path with a WebSocket",
        {},
        { upgrade: "websocket", connection: "Upgrade" },
      );
    }
    // Cross-site WebSocket hijacking: a browser always names the page's origin.
    const origin = request.headers.get("origin");
    if (context.allowedOrigins !== null && origin !== null && !context.allowedOrigins.has(origin)) {
      metrics.connectionsRefused.inc({ reason: "origin" });
      return envelope(403, API_STATUS.FORBIDDEN, "Origin not allowed", { origin });
    }
    const cap = connections.checkAddress(address);
    if (cap !== null) {
      metrics.connectionsRefused.inc({ reason: cap });
      return cap === "total"
        ? envelope(503, API_STATUS.UNAVAILABLE, "Too many connections, try again later", {}, {
          "retry-after": "5",
        })
        : envelope(429, API_STATUS.RATE_LIMITED, "Too many connections from this address", {}, {
          "retry-after": "5",
        });
    }
    const admission = await admit(context, url, peerName);
    const userKey = admission.admitted ? String(admission.session.user.id) : null;
    try {
      return upgradeToChatSocket(request, context.wsIdleTimeoutSeconds, (socket) => {
        const session = new ChatSession(socket, admission, context);
        // Counted from the upgrade, with no await since the check, so caps cannot be raced.
        const release = connections.open(address, userKey);
        session.whenClosed.then(release);
        context.onSession?.(session);
        return session;
      });
    } catch (error) {
      // Deno rejects an upgrade request with missing or malformed WebSocket headers.
      return envelope(400, API_STATUS.INVALID_INPUT, "Invalid WebSocket upgrade request", {
        reason: errorMessage(error),
      });
    }
  };

  const asset: Handler = (request, { url }) => {
    if (!context.staticFiles.has(url.pathname)) {
      return Promise.resolve(envelope(404, API_STATUS.NOT_FOUND, "Not found"));
    }
    return Promise.resolve(context.staticFiles.serve(request, url.pathname));
  };

  const routes: readonly Route[] = [
    { segments: ["", ""], methods: { GET: asset } },
    { segments: ["", "assets", "*"], methods: { GET: asset } },
    { segments: ["", "v1", "user"], methods: { POST: (r, c) => register(r, c.address, context) } },
    {
      segments: ["", "v1", "user", "token"],
      methods: {
        POST: (r, c) => login(r, c.address, context),
        DELETE: (r) => logout(r, accounts),
      },
    },
    {
      segments: ["", "v1", "chat", "*", "messages"],
      methods: { GET: (r, c) => history(r, c.url, c.params[0], accounts, repository) },
    },
    { segments: ["", "v1", "chat", "*"], methods: { GET: chat } },
    {
      segments: ["", "healthz"],
      methods: { GET: () => Promise.resolve(envelope(200, API_STATUS.OK, "OK")) },
    },
    { segments: ["", "readyz"], methods: { GET: () => readiness(context) } },
    {
      segments: ["", "metrics"],
      methods: {
        GET: () =>
          Promise.resolve(
            new Response(metrics.render(), {
              headers: {
                "content-type": "text/plain; version=0.0.4; charset=utf-8",
                "cache-control": "no-store",
              },
            }),
          ),
      },
    },
  ];

  const route = async (request: Request, url: URL, address: string): Promise<Response> => {
    const segments = url.pathname.split("/");
    for (const route of routes) {
      const params = match(route, segments);
      if (params === null) continue;
      const method = request.method === "HEAD" ? "GET" : request.method;
      const handler = route.methods[method];
      if (handler === undefined) {
        const allow = Object.keys(route.methods).join(", ");
        return envelope(
          405,
          API_STATUS.METHOD_NOT_ALLOWED,
          `Method ${request.method} not allowed`,
          {
            allow,
          },
          { allow },
        );
      }
      return await handler(request, { url, params, address });
    }
    return envelope(404, API_STATUS.NOT_FOUND, "Not found");
  };

  return async (request, info) => {
    const url = new URL(request.url);
    let response: Response;
    try {
      response = await route(request, url, clientAddress(request, info, context.trustProxy));
    } catch (error) {
      log.error("http.error", {
        method: request.method,
        path: url.pathname,
        error: errorMessage(error),
      });
      response = error instanceof StorageUnavailableError
        ? envelope(503, API_STATUS.UNAVAILABLE, "Storage busy, try again", {}, {
          "retry-after": "1",
        })
        : envelope(500, API_STATUS.INTERNAL_ERROR, "Internal server error");
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
