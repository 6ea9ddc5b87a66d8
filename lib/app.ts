/**
 * The request handler: the route table, the chat upgrade, and the one error path that turns
 * anything thrown into a 500 envelope.
 */
import { API_STATUS } from "./protocol/status.ts";
import { targetNotFoundFrame, TOKEN_FAILED_FRAME } from "./protocol/frames.ts";
import { checkUsername, usernameKey } from "./users/username.ts";
import { errorMessage } from "./log.ts";
import type { Accounts } from "./auth/accounts.ts";
import { type Admission, type ChatContext, ChatSession } from "./chat/chat_session.ts";
import { isWebSocketUpgrade, upgradeToChatSocket } from "./chat/deno_socket.ts";
import { envelope } from "./http/envelope.ts";
import { login, logout, register } from "./http/user_routes.ts";
import { history } from "./http/history_routes.ts";

/** What the handler needs. */
export interface AppContext extends ChatContext {
  readonly accounts: Accounts;
  readonly wsIdleTimeoutSeconds: number;
  /** Called with each chat session as it is created, so the owner can wait for it at shutdown. */
  readonly onSession?: (session: ChatSession) => void;
}

type Handler = (request: Request, url: URL, params: readonly string[]) => Promise<Response>;

interface Route {
  /** The path split on `/`, with `*` for a segment that is a parameter. */
  readonly segments: readonly string[];
  readonly methods: Readonly<Record<string, Handler>>;
}

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

/** Decides, before the upgrade, what an opening chat socket will be told. */
async function admit(
  context: AppContext,
  token: string | null,
  peerName: string,
): Promise<Admission> {
  const session = await context.accounts.authenticate(token);
  if (session === null) {
    return { admitted: false, frame: TOKEN_FAILED_FRAME, reason: "Token authentication failed" };
  }
  const name = checkUsername(peerName);
  const peer = name.ok ? await context.repository.findUser(usernameKey(name.username)) : null;
  if (peer === null) {
    return {
      admitted: false,
      frame: targetNotFoundFrame(peerName),
      reason: "Target user does not exist",
    };
  }
  return { admitted: true, session, peer: { id: peer.id, username: peer.username } };
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
  return envelope(503, API_STATUS.NOT_READY, `Not ready: ${down.join(" and ")} down`, body);
}

/** Builds the service's `fetch`-style handler. */
export function createApp(context: AppContext): (request: Request) => Promise<Response> {
  const { accounts, repository, log } = context;

  const chat: Handler = async (request, url, [peerName]) => {
    if (!isWebSocketUpgrade(request)) {
      return envelope(
        426,
        API_STATUS.UPGRADE_REQUIRED,
        "Upgrade required: open this path with a WebSocket",
        {},
        {
          upgrade: "websocket",
          connection: "Upgrade",
        },
      );
    }
    const admission = await admit(context, url.searchParams.get("token"), peerName);
    try {
      return upgradeToChatSocket(request, context.wsIdleTimeoutSeconds, (socket) => {
        const session = new ChatSession(socket, admission, context);
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

  const routes: readonly Route[] = [
    { segments: ["", "v1", "user"], methods: { POST: (r) => register(r, accounts) } },
    {
      segments: ["", "v1", "user", "token"],
      methods: { POST: (r) => login(r, accounts), DELETE: (r) => logout(r, accounts) },
    },
    {
      segments: ["", "v1", "chat", "*", "messages"],
      methods: { GET: (r, url, [peer]) => history(r, url, peer, accounts, repository) },
    },
    { segments: ["", "v1", "chat", "*"], methods: { GET: chat } },
    {
      segments: ["", "healthz"],
      methods: { GET: () => Promise.resolve(envelope(200, API_STATUS.OK, "OK")) },
    },
    { segments: ["", "readyz"], methods: { GET: () => readiness(context) } },
  ];

  return async (request) => {
    const url = new URL(request.url);
    const segments = url.pathname.split("/");
    try {
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
        return await handler(request, url, params);
      }
      return envelope(404, API_STATUS.NOT_FOUND, "Not found");
    } catch (error) {
      log.error("http.error", {
        method: request.method,
        path: url.pathname,
        error: errorMessage(error),
      });
      return envelope(500, API_STATUS.INTERNAL_ERROR, "Internal server error");
    }
  };
}
