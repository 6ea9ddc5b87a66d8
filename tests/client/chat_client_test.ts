/** The chat client module against a real service: send and ack, presence, reconnect, resend, dedupe. */
import assert from "node:assert/strict";
import { ChatClient, chatSocketUrl, SendError, type Timers } from "../../lib/client/chat_client.ts";
import {
  api,
  historyTexts,
  registerAndLogin,
  startTestServer,
  type TestServer,
} from "../support/server.ts";
import { EventLog } from "../support/fake_endpoint.ts";
import { FAST_BACKOFF, untilState, watch } from "../support/watched_client.ts";
import { controlledSockets, hideStatuses } from "../support/controlled_socket.ts";

async function twoUsers(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

Deno.test("the socket URL carries the peer and the token, percent-encoded", () => {
  assert.equal(
    chatSocketUrl("http://127.0.0.1:7071/", "张三", "a b"),
    "ws://127.0.0.1:7071/v1/chat/%E5%BC%A0%E4%B8%89?token=a%20b",
  );
  assert.equal(
    chatSocketUrl("https://chat.example", "tom", "t"),
    "wss://chat.example/v1/chat/tom?token=t",
  );
  assert.equal(chatSocketUrl("ws://h:1", "tom", "t"), "ws://h:1/v1/chat/tom?token=t");
  assert.equal(
    chatSocketUrl("ws://h:1", "tom", "t", { receipts: true }),
    "ws://h:1/v1/chat/tom?token=t&ack=1",
  );
});

Deno.test("send resolves with the 30010 answer and the peer gets the message once", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  await using jackSide = watch({ baseUrl: server.baseUrl, token: jack, peer: "tom" });
  tomSide.client.connect();
  jackSide.client.connect();
  await untilState(tomSide, "open");
  const stored = await tomSide.client.send("你好，Jack！", { id: "first" });
  assert.equal(stored.id, "first");
  assert.equal(typeof stored.messageId, "number");
  assert.match(stored.sendTime, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  const message = await jackSide.events.message.next();
  assert.deepEqual(message, {
    messageId: stored.messageId,
    fromUser: "Tom",
    msg: "你好，Jack！",
    sendTime: stored.sendTime,
  });
  // Sending the same id again stores nothing new and answers with the same message.
  assert.deepEqual(await tomSide.client.send("你好，Jack！", { id: "first" }), stored);
  const reply = await jackSide.client.send("hi Tom");
  assert.equal((await tomSide.events.message.next()).msg, "hi Tom");
  assert.ok(reply.messageId > stored.messageId);
  assert.deepEqual(await historyTexts(server, tom, "Jack"), ["你好，Jack！", "hi Tom"]);
  assert.equal(jackSide.events.message.all.length, 1);
});

Deno.test("presence events follow the peer: online when it connects, offline when it leaves", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  tomSide.client.connect();
  await untilState(tomSide, "open");
  assert.deepEqual(await tomSide.events.presence.next(), { online: false });
  assert.equal(tomSide.client.peerOnline, false);

  const jackSide = watch({ baseUrl: server.baseUrl, token: jack, peer: "Tom" });
  jackSide.client.connect();
  assert.deepEqual(await tomSide.events.presence.next(), { online: true });
  assert.deepEqual(await jackSide.events.presence.next(), { online: false });
  assert.deepEqual(await jackSide.events.presence.next(), { online: true });
  await jackSide.client.close();
  assert.deepEqual(await tomSide.events.presence.next(), { online: false });
  assert.equal(jackSide.client.peerOnline, null);
  assert.equal(jackSide.client.state, "closed");
});

Deno.test("a message sent before the socket opens waits and goes out once it is open", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  const sent = tomSide.client.send("early");
  assert.equal(tomSide.client.pendingCount, 1);
  tomSide.client.connect();
  await sent;
  assert.equal(tomSide.client.pendingCount, 0);
  assert.deepEqual(await historyTexts(server, jack, "Tom"), ["early"]);
});

Deno.test("after a drop the client reconnects and resends what was not acknowledged, stored once", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  // The first socket loses every 30010: the message is stored but the client never hears so.
  const sockets = controlledSockets((index) => index === 0 ? hideStatuses(30010) : () => "pass");
  await using tomSide = watch({
    baseUrl: server.baseUrl,
    token: tom,
    peer: "Jack",
    WebSocket: sockets.WebSocket,
  });
  await using jackSide = watch({ baseUrl: server.baseUrl, token: jack, peer: "Tom" });
  jackSide.client.connect();
  tomSide.client.connect();
  const first = await sockets.opened.next();
  await untilState(tomSide, "open");
  const sent = tomSide.client.send("only once");
  const firstAck = JSON.parse(await first.hidden.next());
  assert.equal(firstAck.status, 30010);
  first.drop();
  const retrying = await untilState(tomSide, "retrying");
  assert.equal(retrying.closeCode, 4000);
  assert.ok(retrying.retryInMs !== null && retrying.retryInMs <= FAST_BACKOFF.initialMs);
  const stored = await sent;
  assert.equal(stored.messageId, firstAck.body.message_id);
  assert.equal((await untilState(tomSide, "open")).attempt, 0);
  assert.equal((await jackSide.events.message.next()).msg, "only once");
  assert.deepEqual(await historyTexts(server, tom, "Jack"), ["only once"]);
  // The peer's next message proves nothing else (no second copy) arrived before it.
  await tomSide.client.send("marker");
  assert.equal((await jackSide.events.message.next()).msg, "marker");
});

Deno.test("a message_id already seen is dropped: repeated frames and ids marked seen", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  tomSide.client.connect();
  const waiting = await tomSide.client.send("read in history already");
  // Jack has this message from history; the service still brings it as waiting on connect.
  const sockets = controlledSockets(() => () => "repeat");
  await using jackSide = watch({
    baseUrl: server.baseUrl,
    token: jack,
    peer: "Tom",
    WebSocket: sockets.WebSocket,
  });
  jackSide.client.markSeen([waiting.messageId]);
  jackSide.client.connect();
  await tomSide.client.send("new one");
  await tomSide.client.send("and another");
  assert.equal((await jackSide.events.message.next()).msg, "new one");
  assert.equal((await jackSide.events.message.next()).msg, "and another");
  assert.equal(jackSide.events.message.all.length, 2);
});

Deno.test("after a drop, a message the socket lost is filled in from history, in order", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  // Jack's first socket loses the peer's messages, as a connection dying mid-write would.
  const sockets = controlledSockets((index) => index === 0 ? hideStatuses(30001) : () => "pass");
  await using jackSide = watch({
    baseUrl: server.baseUrl,
    token: jack,
    peer: "Tom",
    WebSocket: sockets.WebSocket,
  });
  jackSide.client.connect();
  tomSide.client.connect();
  const first = await sockets.opened.next();
  await tomSide.client.send("lost one");
  await tomSide.client.send("lost two");
  await first.hidden.next();
  await first.hidden.next();
  first.drop();
  await untilState(jackSide, "retrying");
  await untilState(jackSide, "open");
  await tomSide.client.send("live");
  const texts = [];
  for (let i = 0; i < 3; i++) texts.push((await jackSide.events.message.next()).msg);
  assert.deepEqual(texts, ["lost one", "lost two", "live"]);
  // Jack's own messages are not handed back to Jack.
  await jackSide.client.send("mine");
  await jackSide.client.send("mine too");
  (await sockets.opened.next()).drop();
  await untilState(jackSide, "open");
  await tomSide.client.send("after");
  assert.equal((await jackSide.events.message.next()).msg, "after");
  assert.equal(jackSide.events.message.all.length, 4);
});

Deno.test("reconnect delays grow from the initial delay to the maximum, with jitter", async () => {
  // A port nobody listens on: every attempt fails at once.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const scheduled = new EventLog<{ ms: number; fire: () => void }>("a scheduled retry");
  const timers: Timers = {
    setTimeout(callback, ms) {
      const timer = { ms, fire: callback };
      scheduled.push(timer);
      return timer;
    },
    clearTimeout() {},
  };
  await using side = watch({
    baseUrl: `http://127.0.0.1:${port}`,
    token: "t",
    peer: "Jack",
    timers,
    random: () => 0,
    backoff: { initialMs: 100, maxMs: 400, factor: 2 },
  });
  side.client.connect();
  const delays = [];
  for (let i = 0; i < 4; i++) {
    const timer = await scheduled.next(5000);
    delays.push(timer.ms);
    const retrying = await untilState(side, "retrying");
    assert.equal(retrying.retryInMs, timer.ms);
    assert.equal(retrying.attempt, i + 1);
    if (i < 3) timer.fire();
  }
  // random() = 0 takes half of each ceiling: 100, 200, 400, 400 (the maximum).
  assert.deepEqual(delays, [50, 100, 200, 200]);
  await side.client.close();
  assert.equal(side.client.state, "closed");
});

Deno.test("the client rides out a service restart and delivers what was sent meanwhile", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-client-test-" });
  const dbPath = `${dir}/chat.db`;
  try {
    await using first = await startTestServer({ dbPath });
    const { tom, jack } = await twoUsers(first);
    const tomSide = watch({ baseUrl: first.baseUrl, token: tom, peer: "Jack" });
    try {
      tomSide.client.connect();
      await untilState(tomSide, "open");
      await first.close();
      assert.equal((await untilState(tomSide, "retrying")).closeCode, 1001);
      const sent = tomSide.client.send("sent while the service was down");
      await using second = await startTestServer({ dbPath, env: { PORT: String(first.port) } });
      await sent;
      await using jackSide = watch({ baseUrl: second.baseUrl, token: jack, peer: "Tom" });
      jackSide.client.connect();
      assert.equal((await jackSide.events.message.next()).msg, "sent while the service was down");
    } finally {
      await tomSide.client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad token (30002) stops the client: fatal error, closed, sends rejected", async () => {
  await using server = await startTestServer();
  await registerAndLogin(server, "Jack");
  await using side = watch({ baseUrl: server.baseUrl, token: "not-a-token", peer: "Jack" });
  const sent = side.client.send("hello");
  side.client.connect();
  const error = await side.events.error.next();
  assert.deepEqual(error, {
    status: 30002,
    message: "Token authentication failed",
    reason: null,
    id: null,
    fatal: true,
    retryAfterMs: null,
    limit: null,
  });
  await assert.rejects(sent, (e) => e instanceof SendError && e.status === 30002);
  assert.equal((await untilState(side, "closed")).state, "closed");
  await assert.rejects(side.client.send("again"), SendError);
});

Deno.test("logging out elsewhere stops the client with 30002", async () => {
  await using server = await startTestServer();
  const { tom } = await twoUsers(server);
  await using side = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  side.client.connect();
  await untilState(side, "open");
  await api(server, "DELETE", "/v1/user/token", { token: tom });
  assert.equal((await side.events.error.next()).status, 30002);
  await untilState(side, "closed");
});

Deno.test("an unknown peer (30003) stops the client with a fatal error naming it", async () => {
  await using server = await startTestServer();
  const { tom } = await twoUsers(server);
  await using side = watch({ baseUrl: server.baseUrl, token: tom, peer: "Tony" });
  side.client.connect();
  const error = await side.events.error.next();
  assert.equal(error.status, 30003);
  assert.equal(error.message, "Target user Tony does not exist");
  assert.equal(error.fatal, true);
  await untilState(side, "closed");
});

Deno.test("a 30004 rejects the send it answers; the next send still works", async () => {
  await using server = await startTestServer({ env: { MAX_MESSAGE_CHARS: "5" } });
  const { tom } = await twoUsers(server);
  await using side = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  side.client.connect();
  const tooLong = side.client.send("longer than five", { id: "long" });
  const fine = side.client.send("short", { id: "short" });
  await assert.rejects(
    tooLong,
    (e) => e instanceof SendError && e.status === 30004 && !e.retryable,
  );
  assert.equal((await fine).id, "short");
  const error = await side.events.error.next();
  assert.equal(error.status, 30004);
  assert.equal(error.id, "long");
  assert.equal(error.reason, "msg is longer than 5 characters");
  assert.equal(error.fatal, false);
  assert.equal(side.client.state, "open");
});

Deno.test("send refuses an empty or over-long message without sending it", async () => {
  const client = new ChatClient({
    baseUrl: "http://127.0.0.1:1",
    token: "t",
    peer: "Jack",
    maxMessageChars: 3,
  });
  await assert.rejects(client.send("  \n"), /msg is empty/);
  await assert.rejects(client.send("四个汉字"), /longer than 3 characters/);
  const waiting = client.send("三个字");
  assert.equal(client.pendingCount, 1);
  const closing = client.close();
  assert.equal(client.state, "closed");
  await closing;
  await assert.rejects(waiting, /closed/);
});

Deno.test("close() rejects what was not acknowledged and stops reconnecting", async () => {
  await using server = await startTestServer();
  const { tom } = await twoUsers(server);
  const sockets = controlledSockets(() => hideStatuses(30010));
  const side = watch({
    baseUrl: server.baseUrl,
    token: tom,
    peer: "Jack",
    WebSocket: sockets.WebSocket,
  });
  side.client.connect();
  await untilState(side, "open");
  const sent = side.client.send("never acknowledged");
  await (await sockets.opened.next()).hidden.next();
  await side.client.close();
  await assert.rejects(sent, (e) => e instanceof SendError && e.retryable);
  assert.equal((await untilState(side, "closed")).state, "closed");
  assert.equal(sockets.opened.all.length, 1);
});

Deno.test("a note to self reaches my other socket once and is not handed back to the sender", async () => {
  await using server = await startTestServer();
  const { tom } = await twoUsers(server);
  await using first = watch({ baseUrl: server.baseUrl, token: tom, peer: "tom" });
  await using second = watch({ baseUrl: server.baseUrl, token: tom, peer: "Tom" });
  first.client.connect();
  second.client.connect();
  await untilState(second, "open");
  await first.client.send("note");
  assert.equal((await second.events.message.next()).msg, "note");
  await second.client.send("second note");
  assert.equal((await first.events.message.next()).msg, "second note");
  assert.equal(first.events.message.all.length, 1);
  assert.equal(second.events.message.all.length, 1);
});
