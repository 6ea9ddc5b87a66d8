/**
 * The one place that calls `Deno.upgradeWebSocket`: adapts Deno's server-side WebSocket to the
 * neutral `ChatSocket` contract the chat session sees (Hono's `adapter/deno/websocket.ts` model).
 *
 * Deno's server socket (fastwebsockets under `ext/websocket`) gathers a fragmented message whole
 * before the script sees any of it, with no limit on the total (only each frame is held under
 * 64 MiB), and after the server's close frame it keeps reading until the client answers. The
 * public API cannot drop a socket at once, so `dropSocket` closes the runtime's resource for it
 * (`Deno[Deno.internal].core.tryClose`, the call the runtime itself makes): the read stops, the
 * TCP connection closes and whatever the socket held is freed.
 */
import type { ChatSocket, ChatSocketHandlers } from "../chat/socket.ts";
import type { DroppableSocket } from "../limits/memory_guard.ts";

/** How long a socket may stay quiet, and how long a closing one waits for the client. */
export interface SocketTimeouts {
  /** Deno pings after half of it and closes the socket when no pong comes back (0 = off). */
  readonly idleTimeoutSeconds: number;
  /**
   * After the server's close frame, how long to wait for the client's before the connection is
   * dropped (`WS_CLOSE_TIMEOUT`). Until then the runtime keeps reading what the client sends.
   */
  readonly closeTimeoutMs: number;
}

/** Whether a request asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Drops a server socket at once, without waiting for the client's close frame; `false` when
 * this Deno offers no way to (then only the close handshake or the idle timeout end it).
 */
export function dropSocket(socket: WebSocket): boolean {
  // deno-lint-ignore no-explicit-any
  const runtime = Deno as any;
  const core = runtime[runtime.internal]?.core;
  const ridKey = Object.getOwnPropertySymbols(socket).find((key) => key.description === "[[rid]]");
  if (typeof core?.tryClose !== "function" || ridKey === undefined) return false;
  // deno-lint-ignore no-explicit-any
  const rid = (socket as any)[ridKey];
  if (typeof rid !== "number") return false;
  core.tryClose(rid);
  return true;
}

/**
 * Upgrades `request` and wires the socket to the handlers `attach` returns. A socket the server
 * closed is dropped after `closeTimeoutMs`; while open it is listed in `live` (if given), where
 * the memory guard can find and drop it. `protocol`, when not null, is the subprotocol the answer
 * names (`Sec-WebSocket-Protocol`): only one the client offered.
 */
export function upgradeToChatSocket(
  request: Request,
  timeouts: SocketTimeouts,
  live: Set<DroppableSocket> | undefined,
  attach: (socket: ChatSocket) => ChatSocketHandlers,
  protocol: string | null = null,
): Response {
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: timeouts.idleTimeoutSeconds,
    ...(protocol === null ? {} : { protocol }),
  });
  socket.binaryType = "arraybuffer";
  const adapted = new AdaptedSocket(socket, timeouts.closeTimeoutMs, live);
  adapted.listen(attach(adapted));
  return response;
}

// The events an adapted socket listens to ("error" too, so that none goes unhandled).
const SOCKET_EVENTS = ["open", "message", "close", "error"] as const;

/**
 * One server socket as the session (`ChatSocket`) and the memory guard (`DroppableSocket`) see
 * it, and the listener of its events. One object per socket, its methods on the prototype: an
 * idle connection holds no closures of its own (issue 14).
 */
class AdaptedSocket implements ChatSocket, DroppableSocket, EventListenerObject {
  readonly #socket: WebSocket;
  readonly #closeTimeoutMs: number;
  readonly #live: Set<DroppableSocket> | undefined;
  #handlers: ChatSocketHandlers | null = null;
  #dropTimer: ReturnType<typeof setTimeout> | undefined;
  #lastHeardAt = performance.now();

  constructor(socket: WebSocket, closeTimeoutMs: number, live: Set<DroppableSocket> | undefined) {
    this.#socket = socket;
    this.#closeTimeoutMs = closeTimeoutMs;
    this.#live = live;
  }

  /** Starts handing the socket's events to `handlers`. */
  listen(handlers: ChatSocketHandlers): void {
    this.#handlers = handlers;
    for (const type of SOCKET_EVENTS) this.#socket.addEventListener(type, this);
  }

  handleEvent(event: Event): void {
    const handlers = this.#handlers!;
    switch (event.type) {
      case "open":
        this.#live?.add(this);
        handlers.opened();
        return;
      case "message":
        this.#lastHeardAt = performance.now();
        handlers.received((event as MessageEvent).data);
        return;
      case "close":
        clearTimeout(this.#dropTimer);
        this.#live?.delete(this);
        handlers.closed((event as CloseEvent).code);
    }
    // "error": always followed by "close", where the session cleans up.
  }

  send(frame: string): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(frame);
  }

  close(code: number, reason: string): void {
    const socket = this.#socket;
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
      socket.close(code, reason);
      this.#dropTimer ??= setTimeout(() => dropSocket(socket), this.#closeTimeoutMs);
    }
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  get lastHeardAt(): number {
    return this.#lastHeardAt;
  }

  get closing(): boolean {
    return this.#socket.readyState === WebSocket.CLOSING;
  }

  drop(): boolean {
    return dropSocket(this.#socket);
  }
}
