/** The chat client's chat.v2 side against a real service: the subprotocol and its frames. */
import assert from "node:assert/strict";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { untilState, watch } from "../support/watched_client.ts";

async function twoUsers(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

/** A WebSocket constructor that keeps each socket it makes, to read its `protocol`. */
function recordingWebSocket() {
  const sockets: WebSocket[] = [];
  class Recording extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { sockets, WebSocket: Recording };
}

Deno.test("a v2 client offers chat.v2 and gets it; a client without v2 offers nothing", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const recorded = recordingWebSocket();
  await using v2 = watch({
    baseUrl: server.baseUrl,
    token: tom,
    peer: "Jack",
    v2: true,
    WebSocket: recorded.WebSocket,
  });
  const seedSockets = recordingWebSocket();
  await using seed = watch({
    baseUrl: server.baseUrl,
    token: jack,
    peer: "Tom",
    WebSocket: seedSockets.WebSocket,
  });
  v2.client.connect();
  seed.client.connect();
  await untilState(v2, "open");
  await untilState(seed, "open");
  assert.equal(recorded.sockets[0].protocol, "chat.v2");
  assert.equal(seedSockets.sockets[0].protocol, "");
  const stored = await v2.client.send("你好 Jack");
  assert.equal((await seed.events.message.next()).messageId, stored.messageId);
});

Deno.test("read and typing on a v2 socket are control frames: the socket stays and messages flow", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using toJack = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack", v2: true });
  await using toTom = watch({ baseUrl: server.baseUrl, token: jack, peer: "Tom", v2: true });
  toJack.client.connect();
  toTom.client.connect();
  await untilState(toJack, "open");
  await untilState(toTom, "open");
  const first = await toJack.client.send("one");
  assert.equal((await toTom.events.message.next()).msg, "one");
  toTom.client.read(first.messageId);
  toTom.client.typing(true);
  toTom.client.typing(false);
  await toTom.client.send("two");
  assert.equal((await toJack.events.message.next()).msg, "two");
  assert.equal(toTom.client.state, "open");
  assert.deepEqual(toTom.events.error.all, []);
});
