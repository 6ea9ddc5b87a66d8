/**
 * The one place that calls `Deno.upgradeWebSocket`: adapts Deno's server-side WebSocket to the
 * neutral `ChatSocket` contract the chat session sees (Hono's `adapter/deno/websocket.ts` model).
 */
import type { ChatSocket, ChatSocketHandlers } from "../chat/socket.ts";

/** Whether a request asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Upgrades `request` and wires the socket to the handlers `attach` returns.
 * `idleTimeoutSeconds` makes Deno ping the client and close the socket when no pong comes back;
 * `protocol`, when not null, is the subprotocol the answer names (`Sec-WebSocket-Protocol`): only
 * one the client offered.
 */
export function upgradeToChatSocket(
  request: Request,
  idleTimeoutSeconds: number,
  attach: (socket: ChatSocket) => ChatSocketHandlers,
  protocol: string | null = null,
): Response {
  const { socket, response } = Deno.upgradeWebSocket(request, {
    idleTimeout: idleTimeoutSeconds,
    ...(protocol === null ? {} : { protocol }),
  });
  socket.binaryType = "arraybuffer";
  const chatSocket: ChatSocket = {
    send(frame) {
      if (socket.readyState === WebSocket.OPEN) socket.send(frame);
    },
    close(code, reason) {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(code, reason);
      }
    },
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
  };
  const handlers = attach(chatSocket);
  socket.onopen = () => handlers.opened();
  socket.onmessage = (event) => handlers.received(event.data);
  socket.onclose = (event) => handlers.closed(event.code);
  // An error is always followed by close, where the session cleans up.
  socket.onerror = () => {};
  return response;
}
