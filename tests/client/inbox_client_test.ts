/** The inbox socket and the v2 pair events through the client module, against a real service. */
import assert from "node:assert/strict";
import { ChatApi } from "../../lib/client/chat_api.ts";
import { InboxClient, type InboxClientEvents } from "../../lib/client/inbox_client.ts";
import { EventLog } from "../support/fake_endpoint.ts";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { FAST_BACKOFF, untilState, watch } from "../support/watched_client.ts";

async function twoUsers(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

function watchInbox(baseUrl: string, token: string) {
  const client = new InboxClient({ baseUrl, token, backoff: FAST_BACKOFF });
  const events = {
    state: new EventLog<InboxClientEvents["state"]>("an inbox state event"),
    conversation: new EventLog<InboxClientEvents["conversation"]>("a 30021"),
    presence: new EventLog<InboxClientEvents["presence"]>("a 30022"),
    error: new EventLog<InboxClientEvents["error"]>("an inbox error"),
  };
  for (const type of Object.keys(events) as (keyof InboxClientEvents)[]) {
    client.on(type, (event) => (events[type] as EventLog<typeof event>).push(event));
  }
  return { client, events, [Symbol.asyncDispose]: () => client.close() };
}

async function opened(inbox: ReturnType<typeof watchInbox>) {
  for (;;) if ((await inbox.events.state.next()).state === "open") return;
}

Deno.test("the inbox hears a stranger's message, my read, and presence; the list agrees", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using inbox = watchInbox(server.baseUrl, tom);
  inbox.client.connect();
  await opened(inbox);
  await using jackToTom = watch({ baseUrl: server.baseUrl, token: jack, peer: "Tom", v2: true });
  jackToTom.client.connect();
  await untilState(jackToTom, "open");
  const stored = await jackToTom.client.send("你好 Tom");
  let update = await inbox.events.conversation.next();
  assert.deepEqual([update.peer, update.unread, update.lastMessage?.msg], ["Jack", 1, "你好 Tom"]);

  const api = new ChatApi({ baseUrl: server.baseUrl });
  const list = await api.conversations(tom);
  assert.deepEqual(
    list.conversations.map((c) => [c.peer, c.unread, c.online, c.lastMessage.messageId]),
    [["Jack", 1, true, stored.messageId]],
  );
  await api.markRead(tom, "Jack", stored.messageId);
  update = await inbox.events.conversation.next();
  assert.deepEqual([update.peer, update.unread], ["Jack", 0]);

  await jackToTom.client.close();
  const presence = await inbox.events.presence.next();
  assert.deepEqual([presence.user, presence.online], ["Jack", false]);
});

Deno.test("an inbox with a bad token gets 30002 and stops for good", async () => {
  await using server = await startTestServer();
  await using inbox = watchInbox(server.baseUrl, "not-a-token");
  inbox.client.connect();
  const error = await inbox.events.error.next();
  assert.deepEqual([error.status, error.fatal], [30002, true]);
  for (;;) if ((await inbox.events.state.next()).state === "closed") break;
  assert.equal(inbox.client.state, "closed");
});

Deno.test("v2 pair events: delivered, read, typing, and a message sent from my other socket", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await twoUsers(server);
  await using tomOne = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack", v2: true });
  await using tomTwo = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack", v2: true });
  tomOne.client.connect();
  tomTwo.client.connect();
  await untilState(tomOne, "open");
  await untilState(tomTwo, "open");
  const stored = await tomOne.client.send("在吗？");
  const sent = await tomTwo.events.sent.next();
  assert.deepEqual([sent.messageId, sent.msg, sent.toUser], [stored.messageId, "在吗？", "Jack"]);

  await using jackSide = watch({ baseUrl: server.baseUrl, token: jack, peer: "Tom", v2: true });
  jackSide.client.connect();
  assert.equal((await jackSide.events.message.next()).messageId, stored.messageId);
  assert.equal((await tomOne.events.delivered.next()).messageId, stored.messageId);
  jackSide.client.read(stored.messageId);
  assert.deepEqual(await tomOne.events.read.next(), {
    reader: "Jack",
    messageId: stored.messageId,
  });
  jackSide.client.typing(true);
  assert.deepEqual(await tomOne.events.typing.next(), { fromUser: "Jack", typing: true });
  jackSide.client.typing(false);
  assert.deepEqual(await tomOne.events.typing.next(), { fromUser: "Jack", typing: false });
});
