/**
 * `GET /v1/conversations` on a real service: the items and their order, unread counts, online and
 * last_seen, peer_read_upto, paging by next_before, and its errors.
 */
import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { conversationsOf, isOnline } from "../support/v2_clients.ts";
import { waitForAsync } from "../support/wait.ts";

type Item = Record<string, unknown> & { last_message: Record<string, unknown> };

async function items(server: TestServer, token: string, query = ""): Promise<Item[]> {
  const answer = await conversationsOf(server, token, query);
  assert.equal(answer.httpStatus, 200);
  assert.equal(answer.json.status, 10001);
  return answer.json.body.conversations as Item[];
}

/** Sends `msg` over a v2 socket and waits for its 30010; returns the message id. */
async function send(socket: ChatClient, msg: string): Promise<number> {
  socket.sendMessage(msg, crypto.randomUUID());
  const stored = await socket.nextMatching((f) => f.status === 30010, "30010");
  return stored.body.message_id as number;
}

Deno.test("the list: most recent first, unread, last message, online, last_seen, peer_read_upto", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const alice = await registerAndLogin(server, "Alice");
  assert.deepEqual(await items(server, tom), []);
  await using tomToJack = await ChatClient.connect(server.wsUrl, "Jack", tom, { v2: true });
  const t1 = await send(tomToJack, "hi Jack");
  {
    await using aliceToTom = await ChatClient.connect(server.wsUrl, "Tom", alice, { v2: true });
    await send(aliceToTom, "你好 Tom");
    await send(aliceToTom, "在吗?");
  }
  await waitForAsync(async () => !(await isOnline(server, "Alice")), "Alice offline");
  // Jack reads Tom's message over HTTP.
  const read = await api(server, "POST", "/v1/chat/Tom/read", {
    token: jack,
    body: { message_id: t1 },
  });
  assert.equal(read.httpStatus, 200);
  const list = await items(server, tom);
  assert.deepEqual(list.map((item) => Object.keys(item)), [
    ["peer", "unread", "last_message", "online", "last_seen", "peer_read_upto"],
    ["peer", "unread", "last_message", "online", "last_seen", "peer_read_upto"],
  ]);
  const [first, second] = list;
  assert.equal(first.peer, "Alice");
  assert.equal(first.unread, 2);
  assert.equal(first.last_message.msg, "在吗?");
  assert.equal(first.online, false);
  assert.match(String(first.last_seen), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(first.peer_read_upto, 0);
  assert.equal(second.peer, "Jack");
  assert.equal(second.unread, 0);
  assert.deepEqual(Object.keys(second.last_message), [
    "message_id",
    "from_user",
    "to_user",
    "msg",
    "send_time",
  ]);
  assert.equal(second.last_message.from_user, "Tom");
  assert.equal(second.peer_read_upto, t1);
  assert.equal(second.last_seen, null);
  assert.equal(second.online, false);
  // Jack's side: Tom is online (his socket to Jack is open), one conversation, nothing unread.
  const jacks = await items(server, jack);
  assert.deepEqual(jacks.map((item) => [item.peer, item.unread, item.online]), [["Tom", 0, true]]);
});

Deno.test("the list pages by next_before; bad limit or before is 400 10003; no token is 401", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const names = ["P1", "P2", "P3"];
  for (const name of names) await registerAndLogin(server, name);
  await using socket = await ChatClient.connect(server.wsUrl, "P1", tom, { v2: true });
  await send(socket, "to P1");
  for (const name of ["P2", "P3"]) {
    await using other = await ChatClient.connect(server.wsUrl, name, tom, { v2: true });
    await send(other, `to ${name}`);
  }
  const page = await conversationsOf(server, tom, "?limit=2");
  const peers = (page.json.body.conversations as Item[]).map((item) => item.peer);
  assert.deepEqual(peers, ["P3", "P2"]);
  const nextBefore = page.json.body.next_before as number;
  assert.equal(typeof nextBefore, "number");
  const rest = await conversationsOf(server, tom, `?limit=2&before=${nextBefore}`);
  assert.deepEqual((rest.json.body.conversations as Item[]).map((item) => item.peer), ["P1"]);
  assert.equal(rest.json.body.next_before, null);
  for (const query of ["?limit=0", "?limit=101", "?limit=x", "?before=0", "?before=-1"]) {
    const bad = await conversationsOf(server, tom, query);
    assert.equal(bad.httpStatus, 400, query);
    assert.equal(bad.json.status, 10003);
  }
  const anonymous = await api(server, "GET", "/v1/conversations");
  assert.equal(anonymous.httpStatus, 401);
  assert.equal(anonymous.json.status, 10004);
});
