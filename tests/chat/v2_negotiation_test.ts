/**
 * The chat.v2 subprotocol on a real service: offered, it is answered and the socket may send the
 * v2 control frames; not offered, the socket is a seed socket and sees exactly the seed's frames.
 */
import assert from "node:assert/strict";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";

async function users(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

Deno.test("a socket that offers chat.v2 gets Sec-WebSocket-Protocol: chat.v2 back", async () => {
  await using server = await startTestServer();
  const { tom } = await users(server);
  await using v2 = await ChatClient.connect(server.wsUrl, "Jack", tom, { v2: true });
  await using both = await ChatClient.connect(server.wsUrl, "Jack", tom, {
    protocols: ["chat.v3", "chat.v2"],
  });
  await using seed = await ChatClient.connect(server.wsUrl, "Jack", tom);
  assert.equal(v2.socket.protocol, "chat.v2");
  assert.equal(both.socket.protocol, "chat.v2");
  assert.equal(seed.socket.protocol, "");
});

Deno.test("a socket offering only another subprotocol gets none back and is a seed socket", async () => {
  await using server = await startTestServer();
  const { tom } = await users(server);
  await using client = await ChatClient.connect(server.wsUrl, "Jack", tom, {
    protocols: ["chat.v9"],
  });
  assert.equal(client.socket.protocol, "");
  client.sendJson({ read: 1 });
  assert.equal((await client.expect(30004)).body.reason, "msg is missing");
  assert.equal((await client.closed()).code, 1008);
});

for (const frame of ['{"read":1}', '{"typing":true}', '{"recall":1}']) {
  Deno.test(`a seed socket sending ${frame} gets today's answer: 30004 msg is missing, then 1008`, async () => {
    await using server = await startTestServer();
    const { tom, jack } = await users(server);
    await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
    await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
    await toJack.expect(30098);
    await toTom.expect(30098);
    toJack.socket.send(frame);
    assert.deepEqual(await toJack.next(), {
      status: 30004,
      msg: "Invalid message",
      body: { reason: "msg is missing" },
    });
    const close = await toJack.closed();
    assert.equal(close.code, 1008);
    assert.equal(close.reason, "Invalid message, not stored: msg is missing");
    assert.equal((await toTom.expect(30099)).msg, "Target user Tom logout");
  });
}

Deno.test("a v2 socket's typing frame is not a message: nothing is stored, the socket stays", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await users(server);
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom, { v2: true });
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toJack.expect(30098);
  await toTom.expect(30098);
  toJack.sendJson({ typing: true });
  toJack.sendMessage("after typing", "m-1");
  assert.equal((await toJack.expect(30010)).body.id, "m-1");
  // The seed peer sees the message and nothing else.
  const message = await toTom.expect(30001);
  assert.equal(message.body.msg, "after typing");
  assert.deepEqual(toTom.pending, []);
});

Deno.test("a v2 socket is answered, never closed, for a bad frame without id", async () => {
  await using server = await startTestServer();
  const { tom } = await users(server);
  await using v2 = await ChatClient.connect(server.wsUrl, "Jack", tom, { v2: true });
  v2.sendJson({ msg: "" });
  assert.deepEqual(await v2.next(), {
    status: 30004,
    msg: "Invalid message",
    body: { reason: "msg is empty" },
  });
  v2.sendJson({ read: "x" });
  assert.equal((await v2.expect(30004)).body.reason, "read must be a positive message_id");
  v2.sendMessage("still open", "m-1");
  assert.equal((await v2.expect(30010)).body.id, "m-1");
});
