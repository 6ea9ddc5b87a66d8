/**
 * A client written only against the API document (frames `{"msg"}` without `id`, no receipts)
 * that sends faster than `MSG_RATE`/`MSG_BURST` is slowed down, not refused: every message
 * arrives, whole and in order. Runs on one node and (`deno task test:cluster`) across two.
 */
import assert from "node:assert/strict";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { DEFAULTS } from "../../lib/config.ts";

/** The defaults, not the test servers' generous limits. */
const DEFAULT_RATE = { MSG_RATE: DEFAULTS.MSG_RATE, MSG_BURST: DEFAULTS.MSG_BURST };

async function pair(server: TestServer) {
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const sender = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const receiver = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await sender.expect(30098, "Jack's login");
  await receiver.expect(30098, "Tom's login");
  return { sender, receiver };
}

async function received(receiver: ChatClient, count: number): Promise<string[]> {
  const texts: string[] = [];
  while (texts.length < count) {
    const frame = await receiver.expect(30001, `message ${texts.length + 1} of ${count}`);
    texts.push(frame.body.msg as string);
  }
  return texts;
}

const numbered = (count: number) => Array.from({ length: count }, (_, i) => `burst ${i + 1}`);

Deno.test("a seed client's burst of 50 at the default rate arrives whole and in order", async () => {
  await using server = await startTestServer({ env: DEFAULT_RATE });
  const { sender, receiver } = await pair(server);
  try {
    const texts = numbered(50);
    for (const text of texts) sender.sendMessage(text);
    assert.deepEqual(await received(receiver, 50), texts);
    // The sender heard nothing it does not know, and its socket is open.
    assert.deepEqual(sender.pending, []);
    assert.equal(sender.socket.readyState, WebSocket.OPEN);
  } finally {
    await sender.close();
    await receiver.close();
  }
});

Deno.test("a seed client sending a steady 20 a second (twice the rate) loses none of 100", async () => {
  await using server = await startTestServer({ env: DEFAULT_RATE });
  const { sender, receiver } = await pair(server);
  try {
    const texts = numbered(100);
    const sent = Promise.withResolvers<void>();
    let next = 0;
    const timer = setInterval(() => {
      sender.sendMessage(texts[next++]);
      if (next === texts.length) {
        clearInterval(timer);
        sent.resolve();
      }
    }, 50);
    await sent.promise;
    assert.deepEqual(await received(receiver, 100), texts);
    assert.deepEqual(sender.pending, []);
    assert.equal(sender.socket.readyState, WebSocket.OPEN);
  } finally {
    await sender.close();
    await receiver.close();
  }
});

Deno.test("past MSG_QUEUE waiting a seed client gets 30005 and close 1008; all it sent is stored", async () => {
  await using server = await startTestServer({
    env: { MSG_RATE: "1", MSG_BURST: "3", MSG_QUEUE: "2" },
  });
  const { sender, receiver } = await pair(server);
  try {
    // 3 pass, 2 wait, the 6th is one too many: it is stored with the rest, then the socket ends.
    const texts = numbered(6);
    for (const text of texts) sender.sendMessage(text);
    assert.equal((await sender.next("the 30005 before the close")).status, 30005);
    const close = await sender.closed();
    assert.equal(close.code, 1008);
    assert.match(close.reason, /^Sending too fast; messages before this close are stored/);
    assert.deepEqual(await received(receiver, 6), texts);
  } finally {
    await sender.close();
    await receiver.close();
  }
});

Deno.test("a client with ids is not held back: over the rate it gets 30005 with its id", async () => {
  await using server = await startTestServer({ env: { MSG_RATE: "1", MSG_BURST: "2" } });
  const { sender, receiver } = await pair(server);
  try {
    for (let i = 1; i <= 3; i++) sender.sendMessage(`m${i}`, `id${i}`);
    assert.equal((await sender.expect(30010)).body.id, "id1");
    assert.equal((await sender.expect(30010)).body.id, "id2");
    const limited = await sender.expect(30005);
    assert.equal(limited.body.id, "id3");
    assert.ok((limited.body.retry_after_ms as number) > 0);
    assert.deepEqual(await received(receiver, 2), ["m1", "m2"]);
  } finally {
    await sender.close();
    await receiver.close();
  }
});
