/**
 * The inbox socket (`/v1/inbox`, chat.v2 only) against a real service: refusals, 30021 when a
 * message arrives from anyone (also someone never written to), when I send from any socket, when
 * my marker moves on another device; 30022 when a user I have a conversation with comes or goes;
 * and the inbox counting as online in the peer's list.
 */
import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { conversationsOf, isOnline, openInbox, openV2 } from "../support/v2_clients.ts";
import { waitForAsync } from "../support/wait.ts";

Deno.test("an inbox with a bad token gets 30002, then the close", async () => {
  await using server = await startTestServer();
  await using inbox = await ChatClient.connectInbox(server.wsUrl, "not-a-token");
  assert.equal(inbox.socket.protocol, "chat.v2");
  assert.deepEqual(await inbox.next(), {
    status: 30002,
    msg: "Token authentication failed",
    body: {},
  });
  assert.equal((await inbox.closed()).code, 1008);
});

Deno.test("the inbox is v2 only: without chat.v2 it is refused with 400 10003; plain HTTP gets 426", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const seed = await ChatClient.connectInbox(server.wsUrl, tom, {});
  assert.match(seed.error ?? "", /400/);
  const plain = await api(server, "GET", `/v1/inbox?token=${tom}`);
  assert.equal(plain.httpStatus, 426);
});

Deno.test("30021: a message from someone never written to, my own sends, my reads on another device", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const alice = await registerAndLogin(server, "Alice");
  const jack = await registerAndLogin(server, "Jack");
  await using inbox = await openInbox(server, tom, "Tom");
  // Alice, whom Tom never wrote to, writes (as a seed client): Tom's inbox hears of it.
  await using aliceSeed = await ChatClient.connect(server.wsUrl, "Tom", alice);
  aliceSeed.sendMessage("hi Tom, it's Alice");
  const fromAlice = await inbox.nextMatching((f) => f.status === 30021, "30021");
  assert.equal(fromAlice.msg, "Conversation updated");
  assert.deepEqual(Object.keys(fromAlice.body), ["peer", "unread", "last_message"]);
  assert.equal(fromAlice.body.peer, "Alice");
  assert.equal(fromAlice.body.unread, 1);
  const last = fromAlice.body.last_message as Record<string, unknown>;
  assert.equal(last.msg, "hi Tom, it's Alice");
  assert.equal(last.from_user, "Alice");
  assert.equal(last.to_user, "Tom");
  // Tom writes to Jack from a chat socket: his inbox hears of his own conversation.
  await using tomToJack = await openV2(server, "Jack", tom);
  tomToJack.sendMessage("hi Jack", "t-1");
  const mine = await inbox.nextMatching((f) => f.status === 30021, "30021");
  assert.equal(mine.body.peer, "Jack");
  assert.equal(mine.body.unread, 0);
  assert.equal((mine.body.last_message as Record<string, unknown>).msg, "hi Jack");
  // Tom reads Alice's message over HTTP (another device): unread 0.
  const read = await api(server, "POST", "/v1/chat/Alice/read", {
    token: tom,
    body: { message_id: last.message_id },
  });
  assert.equal(read.httpStatus, 200);
  const cleared = await inbox.nextMatching((f) => f.status === 30021, "30021");
  assert.equal(cleared.body.peer, "Alice");
  assert.equal(cleared.body.unread, 0);
  // Jack's inbox was never open: nothing for him to get; his list has the conversation.
  const list = await conversationsOf(server, jack);
  assert.equal((list.json.body.conversations as { peer: string }[])[0].peer, "Tom");
});

Deno.test("30022: users I have a conversation with coming and going; the inbox counts as online", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const stranger = await registerAndLogin(server, "Stranger");
  // A conversation between Tom and Jack (admin-free: Jack writes while Tom is away).
  {
    await using jackSeed = await ChatClient.connect(server.wsUrl, "Tom", jack);
    jackSeed.sendMessage("are you there?");
    await waitForAsync(
      async () =>
        ((await conversationsOf(server, tom)).json.body.conversations as unknown[]).length === 1,
      "the conversation",
    );
  }
  await waitForAsync(async () => !(await isOnline(server, "Jack")), "Jack offline");
  await using inbox = await openInbox(server, tom, "Tom");
  // Jack's list shows Tom online through the inbox alone.
  const list = await conversationsOf(server, jack);
  const item = (list.json.body.conversations as Record<string, unknown>[])[0];
  assert.equal(item.peer, "Tom");
  assert.equal(item.online, true);
  // A stranger coming online tells Tom nothing; Jack coming and going does.
  await using strangerSocket = await ChatClient.connect(server.wsUrl, "Jack", stranger);
  {
    await using jackInbox = await openInbox(server, jack, "Jack");
    // (A 30022 of Jack's earlier going may still come first: it is recorded, then pushed.)
    const online = await inbox.nextMatching(
      (f) => f.status === 30022 && f.body.online === true,
      "Jack online",
    );
    assert.equal(online.msg, "Presence");
    assert.equal(online.body.user, "Jack");
    assert.equal(online.body.online, true);
    assert.match(String(online.body.last_seen), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(jackInbox.socket.protocol, "chat.v2");
  }
  const offline = await inbox.nextMatching((f) => f.status === 30022, "Jack offline");
  assert.deepEqual([offline.body.user, offline.body.online], ["Jack", false]);
  assert.ok(!inbox.frames.some((f) => f.body.user === "Stranger"));
  assert.equal(strangerSocket.error, null);
});

Deno.test("logging out closes the inbox with 30002", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  await using inbox = await openInbox(server, tom, "Tom");
  const logout = await api(server, "DELETE", "/v1/user/token", { token: tom });
  assert.equal(logout.httpStatus, 200);
  assert.equal((await inbox.expect(30002)).status, 30002);
  assert.equal((await inbox.closed()).code, 1008);
});
