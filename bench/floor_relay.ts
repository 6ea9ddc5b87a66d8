/**
 * The reference floor: a bare `Deno.serve` relay with the chat service's URL shape and frames but
 * no storage, no authentication and no presence. It measures what the runtime itself costs for
 * the same traffic, so the service can be reported as a ratio of it.
 *
 * - `GET /v1/chat/<peer>?token=<me>` upgrades; the token is taken, unchecked, as the user's name.
 * - `{"msg", "id"?}` is relayed as a 30001 frame (`msg`, `from_user`, `send_time`, `message_id`)
 *   to every socket on the reverse pair (peer -> me), and answered with a 30010-shaped ack when
 *   it carries an `id`. A message for a peer that is not connected is dropped.
 *
 * Run: PORT=0 HOST=127.0.0.1 deno run --allow-net --allow-env bench/floor_relay.ts
 * It logs the service's `listening` line so the benchmark finds its port the same way.
 *
 * Frames are read and written with the service's own protocol module, so the floor speaks
 * exactly the service's wire format (the client frame decoder's checks cost well under a
 * microsecond per message, next to the socket work the floor measures).
 */
import { decodeClientFrame } from "../lib/protocol/client_frame.ts";
import { chatMessageFrame, storedFrame } from "../lib/protocol/server_frame.ts";

const port = Number(Deno.env.get("PORT") ?? "7072");
const hostname = Deno.env.get("HOST") ?? "127.0.0.1";

/** Sockets by pair `me>peer`. */
const pairs = new Map<string, Set<WebSocket>>();
/** Frames for sockets that are registered but not open yet. */
const early = new Map<WebSocket, string[]>();
let lastMessageId = 0;

// `send_time` as the service writes it, formatted once per second.
let cachedSecond = -1;
let cachedTime = "";
function sendTime(): string {
  const ms = Date.now();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const d = new Date(ms);
    const p = (n: number) => String(n).padStart(2, "0");
    cachedTime = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
      `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    cachedSecond = second;
  }
  return cachedTime;
}

function send(socket: WebSocket, frame: string): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(frame);
  else early.get(socket)?.push(frame);
}

// The floor has no message length limit of its own.
const NO_LENGTH_LIMIT = Number.MAX_SAFE_INTEGER;

function relay(me: string, peer: string, socket: WebSocket, text: string): void {
  const frame = decodeClientFrame(text, NO_LENGTH_LIMIT);
  if (!frame.ok || frame.kind !== "message") return;
  const { msg, id } = frame.message;
  const messageId = ++lastMessageId;
  const time = sendTime();
  if (id !== null) send(socket, storedFrame(id, messageId, time));
  const receivers = pairs.get(`${peer}>${me}`);
  if (receivers === undefined) return;
  const out = chatMessageFrame({ messageId, fromUser: me, msg, sendTime: time });
  for (const receiver of receivers) send(receiver, out);
}

const CHAT_PATH = /^\/v1\/chat\/([^/]+)$/;

Deno.serve({
  port,
  hostname,
  onListen(address) {
    console.log(
      `${
        new Date().toISOString()
      } info listening address=${address.hostname} port=${address.port} database=none`,
    );
  },
}, (request) => {
  const url = new URL(request.url);
  const match = CHAT_PATH.exec(url.pathname);
  if (match === null || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("not found", { status: 404 });
  }
  const me = url.searchParams.get("token") ?? "";
  const peer = decodeURIComponent(match[1]);
  const key = `${me}>${peer}`;
  const { socket, response } = Deno.upgradeWebSocket(request);
  // Registered before the upgrade answer goes out, so a message sent by the peer right after
  // this client sees `open` is never dropped; it waits in `early` until the server side opens.
  let set = pairs.get(key);
  if (set === undefined) pairs.set(key, set = new Set());
  set.add(socket);
  early.set(socket, []);
  socket.onopen = () => {
    const frames = early.get(socket) ?? [];
    early.delete(socket);
    for (const frame of frames) socket.send(frame);
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") relay(me, peer, socket, event.data);
  };
  socket.onclose = () => {
    early.delete(socket);
    const current = pairs.get(key);
    current?.delete(socket);
    if (current?.size === 0) pairs.delete(key);
  };
  socket.onerror = () => {};
  return response;
});

Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
Deno.addSignalListener("SIGINT", () => Deno.exit(0));
