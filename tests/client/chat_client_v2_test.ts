/** The chat client's chat.v2 side against a real service: the subprotocol and its frames. */
import assert from "node:assert/strict";
import { ChatApi } from "../../lib/client/chat_api.ts";
import { SendError } from "../../lib/client/chat_client.ts";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { untilState, watch } from "../support/watched_client.ts";

async function twoUsers(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

/** Tom's and Jack's v2 clients to each other, both open; disposing closes both. */
async function openV2Pair(server: TestServer) {
  const { tom, jack } = await twoUsers(server);
  const toJack = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack", v2: true });
  const toTom = watch({ baseUrl: server.baseUrl, token: jack, peer: "Tom", v2: true });
  const pair = {
    jack,
    toJack,
    toTom,
    async [Symbol.asyncDispose]() {
      await toJack[Symbol.asyncDispose]();
      await toTom[Symbol.asyncDispose]();
    },
  };
  try {
    toJack.client.connect();
    toTom.client.connect();
    await untilState(toJack, "open");
    await untilState(toTom, "open");
    return pair;
  } catch (error) {
    await pair[Symbol.asyncDispose]();
    throw error;
  }
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
  await using pair = await openV2Pair(server);
  const { toJack, toTom } = pair;
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

Deno.test("recall: both v2 sockets of the pair hear it, history keeps an empty recalled item", async () => {
  await using server = await startTestServer();
  await using pair = await openV2Pair(server);
  const { jack, toJack, toTom } = pair;
  const stored = await toJack.client.send("发错了");
  await toTom.events.message.next();
  await toJack.client.recall(stored.messageId);
  assert.deepEqual(await toTom.events.recalled.next(), {
    messageId: stored.messageId,
    fromUser: "Tom",
  });
  assert.equal((await toJack.events.recalled.next()).messageId, stored.messageId);
  // Jack cannot recall Tom's message: refused, and the socket and sending go on.
  const other = await toJack.client.send("这条留着");
  await toTom.events.message.next();
  await assert.rejects(toTom.client.recall(other.messageId), SendError);
  assert.equal((await toTom.client.send("收到")).messageId > other.messageId, true);
  const page = await new ChatApi({ baseUrl: server.baseUrl }).history(jack, "Tom");
  assert.deepEqual(page.messages.map((m) => [m.msg, m.recalled === true]), [
    ["收到", false],
    ["这条留着", false],
    ["", true],
  ]);
});

Deno.test("search finds a Chinese phrase, and one character, through ChatApi", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using toJack = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack", v2: true });
  toJack.client.connect();
  for (const text of ["你好 Jack，在吗?", "明天见", "Hello"]) await toJack.client.send(text);
  const chat = new ChatApi({ baseUrl: server.baseUrl });
  const found = await chat.search(jack, "Tom", "你好");
  assert.deepEqual(found.messages.map((m) => m.msg), ["你好 Jack，在吗?"]);
  const one = await chat.search(jack, "Tom", "见");
  assert.deepEqual(one.messages.map((m) => m.msg), ["明天见"]);
  const anyCase = await chat.search(tom, "Jack", "hello");
  assert.deepEqual(anyCase.messages.map((m) => m.msg), ["Hello"]);
});
