/**
 * `GET /v1/chat/<dest_user>?token=<token>`: the chat socket's HTTP side. Refusals that come
 * before a socket exists are HTTP answers (426 not an upgrade, 403 origin, 429/503 address and
 * total caps, 400 a malformed upgrade); everything the API document answers with a frame
 * (30002, 30003, 30006) is decided by `admit()` and sent on the opened socket.
 */
import { API_STATUS } from "../protocol/status.ts";
import type { Disconnect } from "../protocol/disconnect.ts";
import { CHAT_SUBPROTOCOL_V2, offersChatV2 } from "../protocol/subprotocol.ts";
import { errorMessage } from "../log.ts";
import type { ConnectionCounter } from "../limits/connection_counter.ts";
import {
  isWebSocketUpgrade,
  type SocketTimeouts,
  upgradeToChatSocket,
} from "../adapter/deno_websocket.ts";
import { envelope } from "../http/envelope.ts";
import type { DroppableSocket } from "../limits/memory_guard.ts";
import type { RequestContext, RouteHandler } from "../http/router.ts";
import { type AdmissionContext, admit } from "./admission.ts";
import { type ChatContext, ChatSession } from "./chat_session.ts";
import type { ChatSocket, ChatSocketHandlers } from "./socket.ts";

/** What the service tracks of an open socket's session, to end it at shutdown. */
export interface TrackedSession {
  terminate(disconnect: Disconnect): void;
  settled(): Promise<void>;
  readonly whenClosed: Promise<void>;
  /** Resolves when the socket itself closed (after the close handshake, or dropped). */
  readonly whenSocketClosed: Promise<void>;
}

/** What the chat route needs. */
export interface ChatRouteContext extends ChatContext, AdmissionContext {
  readonly connections: ConnectionCounter;
  readonly wsIdleTimeoutSeconds: number;
  /** How long a closed socket waits for the client's close frame before it is dropped. */
  readonly wsCloseTimeoutMs: number;
  /** The open sockets, where the memory guard finds them. */
  readonly liveSockets?: Set<DroppableSocket>;
  /** Browser origins allowed to open chat sockets; `null` allows any. */
  readonly allowedOrigins: ReadonlySet<string> | null;
  /** Called with each chat session as it is created, so the owner can wait for it at shutdown. */
  readonly onSession?: (session: TrackedSession) => void;
  /** Called with each session given to `onSession`, once, when it closes. */
  readonly onSessionClosed?: (session: TrackedSession) => void;
}

/** 426: a plain HTTP request to a socket's path. */
export function upgradeRequired(): Response {
  return envelope(
    426,
    API_STATUS.UPGRADE_REQUIRED,
    "Upgrade required: open this path with a WebSocket",
    {},
    { upgrade: "websocket", connection: "Upgrade" },
  );
}

/** The HTTP refusal of an upgrade from `address` by origin or connection caps, or `null`. */
export function upgradeRefusal(
  context: ChatRouteContext,
  request: Request,
  address: string,
): Response | null {
  // Cross-site WebSocket hijacking: a browser always names the page's origin.
  const origin = request.headers.get("origin");
  if (context.allowedOrigins !== null && origin !== null && !context.allowedOrigins.has(origin)) {
    context.metrics.connectionsRefused.inc({ reason: "origin" });
    return envelope(403, API_STATUS.FORBIDDEN, "Origin not allowed", { origin });
  }
  const cap = context.connections.checkAddress(address);
  if (cap === null) return null;
  context.metrics.connectionsRefused.inc({ reason: cap });
  const retry = { "retry-after": "5" };
  return cap === "total"
    ? envelope(503, API_STATUS.UNAVAILABLE, "Too many connections, try again later", {}, retry)
    : envelope(429, API_STATUS.RATE_LIMITED, "Too many connections from this address", {}, retry);
}

/** The chat route's handler. */
export function chatRoute(context: ChatRouteContext): RouteHandler {
  return async (request: Request, { url, params, address }: RequestContext) => {
    if (!isWebSocketUpgrade(request)) return upgradeRequired();
    const refused = upgradeRefusal(context, request, address);
    if (refused !== null) return refused;
    const v2 = offersChatV2(request.headers.get("sec-websocket-protocol"));
    const admission = await admit(context, {
      token: url.searchParams.get("token"),
      peerName: params.peer,
      receipts: url.searchParams.get("ack") === "1",
      v2,
    });
    const userKey = admission.admitted ? String(admission.session.user.id) : null;
    return openSession(context, request, { address, userKey }, v2 ? CHAT_SUBPROTOCOL_V2 : null, (
      socket,
      onClosed,
    ) => new ChatSession(socket, admission, context, onClosed));
  };
}

/** Who a socket is counted against: its address and, once admitted, its user. */
export interface SocketOwner {
  readonly address: string;
  readonly userKey: string | null;
}

/**
 * Upgrades `request` to a socket whose session `create` makes. The socket is counted as it is
 * upgraded and uncounted when the session calls `onClosed`; the service is told of the session
 * as it opens and as it closes. 400 when Deno rejects the upgrade request (missing or malformed
 * WebSocket headers).
 */
export function openSession<S extends TrackedSession & ChatSocketHandlers>(
  context: ChatRouteContext,
  request: Request,
  owner: SocketOwner,
  protocol: string | null,
  create: (socket: ChatSocket, onClosed: () => void) => S,
): Response {
  try {
    return upgradeToChatSocket(request, socketTimeouts(context), context.liveSockets, (socket) => {
      const release = context.connections.open(owner.address, owner.userKey);
      const session: S = create(socket, () => {
        release();
        context.onSessionClosed?.(session);
      });
      context.onSession?.(session);
      return session;
    }, protocol);
  } catch (error) {
    return envelope(400, API_STATUS.INVALID_INPUT, "Invalid WebSocket upgrade request", {
      reason: errorMessage(error),
    });
  }
}

/** The idle and close-handshake time-outs of a socket opened through `context`. */
function socketTimeouts(context: ChatRouteContext): SocketTimeouts {
  return {
    idleTimeoutSeconds: context.wsIdleTimeoutSeconds,
    closeTimeoutMs: context.wsCloseTimeoutMs,
  };
}
