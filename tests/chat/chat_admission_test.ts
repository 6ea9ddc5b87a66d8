import assert from "node:assert/strict";
import { registerAndLogin, startTestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";

Deno.test("a socket without a token gets 30002 and is closed", async () => {
  await using server = await startTestServer();
  await registerAndLogin(server, "Tom");
  const client = await ChatClient.connect(server.wsUrl, "Tom", null);
  await client.next();
  // Byte for byte as in the API document, key order included.
  assert.equal(client.raw[0], '{"status":30002,"msg":"Token authentication failed","body":{}}');
  assert.equal((await client.closed()).code, 1008);
});

Deno.test("a socket with an unknown token gets 30002 and is closed", async () => {
  await using server = await startTestServer();
  await registerAndLogin(server, "Tom");
  const client = await ChatClient.connect(server.wsUrl, "Tom", crypto.randomUUID());
  assert.deepEqual(await client.next(), {
    status: 30002,
    msg: "Token authentication failed",
    body: {},
  });
  assert.equal((await client.closed()).code, 1008);
});

Deno.test("the token is checked before the target user", async () => {
  await using server = await startTestServer();
  const client = await ChatClient.connect(server.wsUrl, "Nobody", "not-a-token");
  assert.equal((await client.next()).status, 30002);
  assert.equal((await client.closed()).code, 1008);
});

Deno.test("an unknown target gets 30003 naming the user as written, then close", async () => {
  await using server = await startTestServer();
  const token = await registerAndLogin(server, "Jack");
  const client = await ChatClient.connect(server.wsUrl, "Tony", token);
  await client.next();
  assert.equal(client.raw[0], '{"status":30003,"msg":"Target user Tony does not exist","body":{}}');
  assert.equal((await client.closed()).code, 1008);
});

Deno.test("a target name that cannot be a username is reported as not existing", async () => {
  await using server = await startTestServer();
  const token = await registerAndLogin(server, "Jack");
  const client = await ChatClient.connect(server.wsUrl, "no such user!", token);
  assert.deepEqual(await client.next(), {
    status: 30003,
    msg: "Target user no such user! does not exist",
    body: {},
  });
  await client.closed();
});

Deno.test("the seed's lower-case path reaches Tom, and frames use the registered spelling", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using toJack = await ChatClient.connect(server.wsUrl, "JACK", tom);
  await using toTom = await ChatClient.connect(server.wsUrl, "tom", jack);
  assert.deepEqual(await toJack.next(), { status: 30098, msg: "Target user Jack login", body: {} });
  assert.deepEqual(await toTom.next(), { status: 30098, msg: "Target user Tom login", body: {} });
  toTom.sendMessage("Hello Tom");
  const frame = await toJack.expect(30001);
  assert.equal(frame.body.from_user, "Jack");
  assert.equal(frame.body.msg, "Hello Tom");
});

Deno.test("Chinese names work, URL-encoded in the chat path", async () => {
  await using server = await startTestServer();
  const zhang = await registerAndLogin(server, "张三");
  const li = await registerAndLogin(server, "李四");
  await using toLi = await ChatClient.connect(server.wsUrl, "李四", zhang);
  await using toZhang = await ChatClient.connect(server.wsUrl, "张三", li);
  assert.equal((await toLi.expect(30098)).msg, "Target user 李四 login");
  assert.equal((await toZhang.expect(30098)).msg, "Target user 张三 login");
  toLi.sendMessage("你好，李四 👋");
  const frame = await toZhang.expect(30001);
  assert.equal(frame.body.msg, "你好，李四 👋");
  assert.equal(frame.body.from_user, "张三");
});
