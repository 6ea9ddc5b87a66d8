/** The Deno upgrade adapter on a real `Deno.serve` and a real WebSocket client. */
import assert from "node:assert/strict";
import { isWebSocketUpgrade, upgradeToChatSocket } from "../../lib/adapter/deno_websocket.ts";
import type { ChatSocket } from "../../lib/chat/socket.ts";
import { withTimeout } from "../support/wait.ts";

/** Handlers that record what the adapter tells them, and the socket it handed over. */
class RecordingHandlers {
  readonly received: (string | ArrayBuffer)[] = [];
  readonly opened = Promise.withResolvers<void>();
  readonly closedWith = Promise.withResolvers<number>();
  #arrivals: (() => void)[] = [];
  constructor(readonly socket: ChatSocket) {}
  open(): void {
    this.opened.resolve();
  }
  receive(data: string | ArrayBuffer): void {
    this.received.push(data);
    this.#arrivals.splice(0).forEach((resolve) => resolve());
  }
  close(code: number): void {
    this.closedWith.resolve(code);
  }
  arrival(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#arrivals.push(resolve);
    return promise.then(() => this.arrival(count));
  }
}

/** A client socket, once open. */
async function connect(url: string, protocols?: string[]): Promise<WebSocket> {
  const client = new WebSocket(url, protocols);
  const open = Promise.withResolvers<void>();
  client.onopen = () => open.resolve();
  await withTimeout(open.promise, "the client to open");
  return client;
}

/** A server whose every request is upgraded through the adapter. */
function serve(protocol: string | null = null) {
  const attached = Promise.withResolvers<RecordingHandlers>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) =>
      upgradeToChatSocket(
        request,
        { idleTimeoutSeconds: 0, closeTimeoutMs: 1000 },
        undefined,
        (socket) => {
          const handlers = new RecordingHandlers(socket);
          attached.resolve(handlers);
          return {
            opened: () => handlers.open(),
            received: (data) => handlers.receive(data),
            closed: (code) => handlers.close(code),
          };
        },
        protocol,
      ),
  );
  return {
    url: `ws://127.0.0.1:${server.addr.port}/`,
    attached: attached.promise,
    stop: () => server.shutdown(),
  };
}

Deno.test("isWebSocketUpgrade reads the Upgrade header, in any case", () => {
  const request = (upgrade?: string) =>
    new Request("http://x/", { headers: upgrade ? { upgrade } : {} });
  assert.equal(isWebSocketUpgrade(request("websocket")), true);
  assert.equal(isWebSocketUpgrade(request("WebSocket")), true);
  assert.equal(isWebSocketUpgrade(request("h2c")), false);
  assert.equal(isWebSocketUpgrade(request()), false);
});

Deno.test("the adapter hands text and binary frames over, sends, and reports the close", async () => {
  const server = serve();
  const client = await connect(server.url);
  const heard = Promise.withResolvers<string>();
  client.onmessage = (event) => heard.resolve(event.data);
  const clientClosed = Promise.withResolvers<void>();
  client.onclose = () => clientClosed.resolve();
  try {
    const handlers = await withTimeout(server.attached, "the upgrade");
    await withTimeout(handlers.opened.promise, "open");
    client.send('{"msg":"hi"}');
    client.send(new Uint8Array([1, 2, 3]));
    await withTimeout(handlers.arrival(2), "two frames");
    assert.equal(handlers.received[0], '{"msg":"hi"}');
    assert.ok(handlers.received[1] instanceof ArrayBuffer);
    assert.equal((handlers.received[1] as ArrayBuffer).byteLength, 3);
    handlers.socket.send("from the server");
    assert.equal(await withTimeout(heard.promise, "the server's frame"), "from the server");
    assert.equal(handlers.socket.bufferedAmount, 0);
    handlers.socket.close(4000, "done");
    assert.equal(await withTimeout(handlers.closedWith.promise, "the close"), 4000);
    // Sending and closing again after the close do nothing (and do not throw).
    handlers.socket.send("late");
    handlers.socket.close(1000, "again");
    await withTimeout(clientClosed.promise, "the client's close");
  } finally {
    await server.stop();
  }
});

Deno.test("a close by the client reaches the handlers with its code", async () => {
  const server = serve();
  const client = await connect(server.url);
  try {
    const handlers = await withTimeout(server.attached, "the upgrade");
    await withTimeout(handlers.opened.promise, "open");
    client.close(4321, "bye");
    assert.equal(await withTimeout(handlers.closedWith.promise, "the close"), 4321);
  } finally {
    await server.stop();
  }
});

Deno.test("the adapter answers the subprotocol it is given, and none when given none", async () => {
  const v2 = serve("chat.v2");
  const plain = serve();
  const clients: WebSocket[] = [];
  try {
    const offered = await connect(v2.url, ["chat.v2"]);
    clients.push(offered);
    assert.equal(offered.protocol, "chat.v2");
    const seed = await connect(plain.url);
    clients.push(seed);
    assert.equal(seed.protocol, "");
  } finally {
    for (const client of clients) {
      const closed = Promise.withResolvers<void>();
      client.onclose = () => closed.resolve();
      client.close();
      await withTimeout(closed.promise, "the client's close");
    }
    await v2.stop();
    await plain.stop();
  }
});
