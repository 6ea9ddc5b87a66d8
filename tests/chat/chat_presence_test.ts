import assert from "node:assert/strict";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient, type Frame, withTimeout } from "../support/ws_client.ts";

const login = (name: string) => ({ status: 30098, msg: `Target user ${name} login`, body: {} });
const logout = (name: string) => ({ status: 30099, msg: `Target user ${name} logout`, body: {} });

async function twoUsers(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

/**
 * Sends a marker message and returns the frames each receiver got before it: a later event that
 * must arrive proves that nothing else came in between.
 */
async function framesBefore(sender: ChatClient, receivers: ChatClient[], marker: string) {
  sender.sendMessage(marker);
  const result: Frame[][] = [];
  for (const receiver of receivers) {
    const before: Frame[] = [];
    for (;;) {
      const frame = await receiver.next(`marker ${marker}`);
      if (frame.status === 30001 && frame.body.msg === marker) break;
      before.push(frame);
    }
    result.push(before);
  }
  return result;
}

Deno.test("a user alone on a pair gets no presence frame, also when others chat with it", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  const rose = await registerAndLogin(server, "Rose");
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  // Rose and Tom chat on another pair: Tom's socket on (Tom -> Jack) must hear nothing of it.
  await using roseToTom = await ChatClient.connect(server.wsUrl, "Tom", rose);
  await using tomToRose = await ChatClient.connect(server.wsUrl, "Rose", tom);
  await roseToTom.expect(30098);
  await tomToRose.expect(30098);
  roseToTom.sendMessage("hi Tom");
  await tomToRose.expect(30001);
  // The first frame on (Tom -> Jack) is Jack's login: nothing came before it.
  await using jackToTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  assert.deepEqual(await toJack.next(), login("Jack"));
  assert.deepEqual(await jackToTom.next(), login("Tom"));
});

Deno.test("when the peer comes online both sides get 30098, and 30099 when it leaves", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  assert.deepEqual(await toJack.next(), login("Jack"));
  assert.deepEqual(await toTom.next(), login("Tom"));
  await toTom.close();
  assert.deepEqual(await toJack.next(), logout("Jack"));
});

Deno.test("presence counts users: extra sockets of a user do not repeat 30098 or send 30099 early", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using tom1 = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using tom2 = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const jack1 = await ChatClient.connect(server.wsUrl, "Tom", jack);
  // Jack's first socket: every Tom socket hears it, and Jack's socket is told Tom is there.
  assert.deepEqual(await tom1.next(), login("Jack"));
  assert.deepEqual(await tom2.next(), login("Jack"));
  assert.deepEqual(await jack1.next(), login("Tom"));
  // Jack's second socket: only its own 30098.
  const jack2 = await ChatClient.connect(server.wsUrl, "Tom", jack);
  assert.deepEqual(await jack2.next(), login("Tom"));
  assert.deepEqual(await framesBefore(jack2, [tom1, tom2], "after second socket"), [[], []]);
  // Closing one of Jack's sockets: Jack is still online, so no 30099.
  await jack1.close();
  assert.deepEqual(await framesBefore(jack2, [tom1, tom2], "after first close"), [[], []]);
  // Closing the last one: every Tom socket gets 30099.
  await jack2.close();
  assert.deepEqual(await tom1.next(), logout("Jack"));
  assert.deepEqual(await tom2.next(), logout("Jack"));
});

Deno.test("a user's further socket on the pair gets 30098 when the peer is online", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toJack.expect(30098);
  await toTom.expect(30098);
  await using toJackAgain = await ChatClient.connect(server.wsUrl, "Jack", tom);
  assert.deepEqual(await toJackAgain.next(), login("Jack"));
  assert.deepEqual(await framesBefore(toJack, [toTom], "marker"), [[]]);
});

Deno.test("a socket on another pair does not make the user online on this one", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await registerAndLogin(server, "Rose");
  await using tomToJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  // Jack talks to Rose, not to Tom.
  await using jackToRose = await ChatClient.connect(server.wsUrl, "Rose", jack);
  await using jackToTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  assert.deepEqual(await tomToJack.next(), login("Jack"));
  assert.deepEqual(await jackToTom.next(), login("Tom"));
  assert.deepEqual(jackToRose.pending, []);
});

Deno.test("a peer that stops answering pings goes offline after WS_IDLE_TIMEOUT", async () => {
  await using server = await startTestServer({ env: { WS_IDLE_TIMEOUT: "1" } });
  const { tom, jack } = await twoUsers(server);
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  // Jack's side is a raw TCP connection that completes the upgrade and then never answers a ping.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await conn.write(new TextEncoder().encode(
      `GET /v1/chat/Tom?token=${jack} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1.1 101/);
    assert.deepEqual(await toJack.next(), login("Jack"));
    assert.deepEqual(
      await withTimeout(toJack.next(), "30099 after the idle timeout", 10_000),
      logout("Jack"),
    );
  } finally {
    conn.close();
  }
});

Deno.test("a seed client that sends a burst and closes: its peer gets every message, then 30099", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using jackSocket = await ChatClient.connect(server.wsUrl, "Tom", jack);
  const tomSocket = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await tomSocket.expect(30098);
  assert.deepEqual(await jackSocket.next(), login("Tom"));
  const texts = Array.from({ length: 50 }, (_, i) => `burst ${i + 1}`);
  for (const text of texts) tomSocket.sendMessage(text);
  await tomSocket.close();
  // Tom left once what he sent was stored and handed on: the 30099 comes last.
  const frames: Frame[] = [];
  while (frames.length < texts.length + 1) frames.push(await jackSocket.next());
  assert.deepEqual(frames.map((frame) => frame.body.msg ?? frame.msg), [
    ...texts,
    "Target user Tom logout",
  ]);
});
