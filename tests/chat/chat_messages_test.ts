import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient, type Frame, withTimeout } from "../support/ws_client.ts";

const SEND_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

async function twoUsers(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

async function historyCount(server: TestServer, token: string, peer: string): Promise<number> {
  const response = await api(server, "GET", `/v1/chat/${peer}/messages?limit=200`, { token });
  return (response.json.body.messages as unknown[]).length;
}

/** Opens both sides of a pair and consumes the 30098 frames. */
async function openPair(server: TestServer, tom: string, jack: string) {
  const toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toJack.expect(30098);
  await toTom.expect(30098);
  return { toJack, toTom };
}

Deno.test("a message reaches the peer as the seed's 30001 frame plus message_id", async () => {
  let now = Date.UTC(2019, 0, 2, 3, 23, 41);
  await using server = await startTestServer({ clock: () => now });
  const { tom, jack } = await twoUsers(server);
  const { toJack, toTom } = await openPair(server, tom, jack);
  try {
    toTom.sendMessage("Hello Tom");
    await toJack.next();
    const raw = toJack.raw.at(-1)!;
    const expectedTime = new Date(now);
    const pad = (n: number) => String(n).padStart(2, "0");
    const sendTime = `${expectedTime.getFullYear()}-${pad(expectedTime.getMonth() + 1)}-` +
      `${pad(expectedTime.getDate())} ${pad(expectedTime.getHours())}:` +
      `${pad(expectedTime.getMinutes())}:${pad(expectedTime.getSeconds())}`;
    assert.equal(
      raw,
      `{"status":30001,"msg":"OK","body":{"msg":"Hello Tom","from_user":"Jack",` +
        `"send_time":"${sendTime}","message_id":1}}`,
    );
    now += 1000;
    toTom.sendMessage("again");
    const second = await toJack.expect(30001);
    assert.match(second.body.send_time as string, SEND_TIME);
    assert.notEqual(second.body.send_time, sendTime);
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("the sender gets no frame for a message without id", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const { toJack, toTom } = await openPair(server, tom, jack);
  try {
    toJack.sendMessage("no id");
    toJack.sendMessage("with id", "m-1");
    await toTom.expect(30001);
    await toTom.expect(30001);
    // The first frame the sender gets is the ack of the second message: none for the first.
    const ack = await toJack.next();
    assert.deepEqual(ack.status, 30010);
    assert.equal(ack.body.id, "m-1");
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("a message reaches every socket of the peer on the reverse pair and no other", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await registerAndLogin(server, "Rose");
  const { toJack, toTom } = await openPair(server, tom, jack);
  await using toTom2 = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await using jackToRose = await ChatClient.connect(server.wsUrl, "Rose", jack);
  await using tomToJack2 = await ChatClient.connect(server.wsUrl, "Jack", tom);
  try {
    await toTom2.expect(30098);
    await tomToJack2.expect(30098);
    toJack.sendMessage("to all of Jack's Tom sockets");
    assert.equal((await toTom.expect(30001)).body.msg, "to all of Jack's Tom sockets");
    assert.equal((await toTom2.expect(30001)).body.msg, "to all of Jack's Tom sockets");
    // Not echoed to Tom's own sockets, not sent on Jack's pair with Rose.
    toTom.sendMessage("marker");
    assert.equal((await toJack.expect(30001)).body.msg, "marker");
    assert.equal((await tomToJack2.expect(30001)).body.msg, "marker");
    assert.deepEqual(jackToRose.pending, []);
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("messages sent while the peer is away wait, and arrive first and in order", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  for (let i = 1; i <= 20; i++) toJack.sendMessage(`waiting ${i}`, `w${i}`);
  for (let i = 1; i <= 20; i++) await toJack.expect(30010);
  const toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  try {
    assert.equal((await toTom.expect(30098)).msg, "Target user Tom login");
    const received: string[] = [];
    for (let i = 1; i <= 20; i++) received.push((await toTom.expect(30001)).body.msg as string);
    assert.deepEqual(received, Array.from({ length: 20 }, (_, i) => `waiting ${i + 1}`));
    toJack.sendMessage("live");
    assert.equal((await toTom.expect(30001)).body.msg, "live");
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("a delivered message is not sent again on reconnect; new waiting ones are", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const { toJack, toTom } = await openPair(server, tom, jack);
  toJack.sendMessage("seen live");
  assert.equal((await toTom.expect(30001)).body.msg, "seen live");
  await toTom.close();
  await toJack.expect(30099);
  toJack.sendMessage("while away", "a1");
  await toJack.expect(30010);
  const again = await ChatClient.connect(server.wsUrl, "Tom", jack);
  try {
    await again.expect(30098);
    assert.equal((await again.expect(30001)).body.msg, "while away");
    toJack.sendMessage("after return");
    assert.equal((await again.expect(30001)).body.msg, "after return");
  } finally {
    await again.close();
    await toJack.close();
  }
});

Deno.test("order holds and nothing repeats when the peer connects in the middle of a stream", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const total = 600;
  const received: number[] = [];
  let toTom: ChatClient | null = null;
  try {
    for (let i = 1; i <= total; i++) {
      toJack.sendMessage(String(i));
      // Connect part-way through the stream, while frames are still being stored.
      if (i === 300) toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
    }
    const receiver = toTom!;
    while (received.length < total) {
      const frame: Frame = await receiver.next(`message ${received.length + 1}`);
      if (frame.status === 30001) received.push(Number(frame.body.msg));
    }
    assert.deepEqual(received, Array.from({ length: total }, (_, i) => i + 1));
    // A marker proves no duplicate came after the last expected message.
    toJack.sendMessage("end");
    const tail = await receiver.nextMatching((f) => f.status === 30001, "end marker");
    assert.equal(tail.body.msg, "end");
  } finally {
    await toJack.close();
    await toTom?.close();
  }
});

Deno.test("an id acknowledges with 30010, and a repeated id is neither stored nor delivered again", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const { toJack, toTom } = await openPair(server, tom, jack);
  try {
    toJack.sendMessage("once", "client-1");
    const ack = await toJack.expect(30010);
    assert.equal(ack.msg, "Stored");
    assert.deepEqual(Object.keys(ack.body), ["id", "message_id", "send_time"]);
    assert.equal(ack.body.id, "client-1");
    assert.equal(typeof ack.body.message_id, "number");
    assert.match(ack.body.send_time as string, SEND_TIME);
    const delivered = await toTom.expect(30001);
    assert.equal(delivered.body.message_id, ack.body.message_id);

    toJack.sendMessage("once", "client-1");
    assert.deepEqual(await toJack.expect(30010), ack);
    // The next delivery is the marker, not the repeat.
    toJack.sendMessage("marker", "client-2");
    assert.equal((await toTom.expect(30001)).body.msg, "marker");
    assert.equal(await historyCount(server, tom, "Jack"), 2);
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("the same id to another peer is another message", async () => {
  await using server = await startTestServer();
  const { tom } = await twoUsers(server);
  await registerAndLogin(server, "Rose");
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using toRose = await ChatClient.connect(server.wsUrl, "Rose", tom);
  toJack.sendMessage("to Jack", "same");
  toRose.sendMessage("to Rose", "same");
  const a = await toJack.expect(30010);
  const b = await toRose.expect(30010);
  assert.notEqual(a.body.message_id, b.body.message_id);
});

Deno.test("a repeated id after a reconnect is acknowledged with the original message", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const first = await ChatClient.connect(server.wsUrl, "Jack", tom);
  first.sendMessage("maybe lost", "retry-1");
  const ack = await first.expect(30010);
  await first.close();
  await using second = await ChatClient.connect(server.wsUrl, "Jack", tom);
  second.sendMessage("maybe lost", "retry-1");
  assert.deepEqual(await second.expect(30010), ack);
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toTom.expect(30098);
  assert.equal((await toTom.expect(30001)).body.message_id, ack.body.message_id);
  second.sendMessage("marker");
  assert.equal((await toTom.expect(30001)).body.msg, "marker");
});

Deno.test("a note to self reaches the user's sockets on that pair without presence frames", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  await using one = await ChatClient.connect(server.wsUrl, "Tom", tom);
  await using two = await ChatClient.connect(server.wsUrl, "Tom", tom);
  one.sendMessage("note");
  assert.equal((await two.next()).body.msg, "note");
  assert.equal((await one.next()).body.msg, "note");
  assert.equal(await historyCount(server, tom, "Tom"), 1);
});

Deno.test("acks come back in send order and every acknowledged message is delivered", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const { toJack, toTom } = await openPair(server, tom, jack);
  try {
    for (let i = 0; i < 50; i++) toJack.sendMessage(`m${i}`, `id${i}`);
    for (let i = 0; i < 50; i++) assert.equal((await toJack.expect(30010)).body.id, `id${i}`);
    await withTimeout(
      (async () => {
        for (let i = 0; i < 50; i++) await toTom.expect(30001);
      })(),
      "all 50 delivered",
    );
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("a message stored but never published reaches the open peer when its sender resends the id", async () => {
  await using server = await startTestServer();
  const tomToken = await registerAndLogin(server, "Tom");
  const jackToken = await registerAndLogin(server, "Jack");
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jackToken);
  // Tom's first socket: Jack hearing that Tom came online proves Jack's socket has read its
  // waiting messages (presence frames wait behind them), so the message below is a live one.
  const firstSocket = await ChatClient.connect(server.wsUrl, "Jack", tomToken);
  await firstSocket.expect(30098, "Jack's login on Tom's first socket");
  await toTom.expect(30098, "Tom's first login");
  const tom = (await server.repository.findUser("tom"))!;
  const jack = (await server.repository.findUser("jack"))!;
  // What a node killed between its commit and its publish leaves: stored, never published.
  const [lost] = await server.repository.saveMessages([{
    from: tom,
    to: jack,
    msg: "committed, not published",
    sendTime: "2026-01-01 00:00:00",
    sentAt: Date.now(),
    clientId: "c-1",
  }]);
  // The sender's socket dies; its client reconnects (to any node) and resends what was not
  // acknowledged.
  await firstSocket.close();
  await toTom.expect(30099, "Tom's logout");
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tomToken);
  await toJack.expect(30098, "Jack's login");
  await toTom.expect(30098, "Tom's login");
  toJack.sendMessage("committed, not published", "c-1");
  toJack.sendMessage("next", "c-2");
  assert.equal((await toJack.expect(30010)).body.message_id, lost.message.messageId);
  await toJack.expect(30010);
  const first = await toTom.expect(30001, "the stored message, published again");
  assert.equal(first.body.message_id, lost.message.messageId);
  assert.equal((await toTom.expect(30001, "the next one, after it")).body.msg, "next");
  // A second resend is answered again but not shown twice.
  toJack.sendMessage("committed, not published", "c-1");
  await toJack.expect(30010);
  toJack.sendMessage("last", "c-3");
  await toJack.expect(30010);
  const after = await toTom.nextMatching((frame) => frame.status === 30001, "the last one");
  assert.equal(after.body.msg, "last");
});
