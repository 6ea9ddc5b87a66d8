/** The client module's requests for the inbox: the conversation list, read, recall, search. */
import assert from "node:assert/strict";
import { ChatApi } from "../../lib/client/chat_api.ts";

/** A fetch that records each request and answers with `body` in a 10001 envelope. */
function answering(body: Record<string, unknown>) {
  const requests: { url: string; method: string; auth: string | null; body: unknown }[] = [];
  const fetch = (url: string, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    requests.push({
      url,
      method: init?.method ?? "GET",
      auth: headers.get("authorization"),
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    });
    return Promise.resolve(Response.json({ status: 10001, msg: "OK", body }));
  };
  return { requests, api: new ChatApi({ baseUrl: "http://chat.test", fetch }) };
}

const ITEM = {
  peer: "Jack",
  unread: 2,
  last_message: {
    message_id: 9,
    from_user: "Jack",
    to_user: "Tom",
    msg: "你好",
    send_time: "2026-12-01 10:00:00",
  },
  online: true,
  last_seen: null,
  peer_read_upto: 7,
};

Deno.test("conversations reads the list and skips an item that is not one", async () => {
  const { api, requests } = answering({ conversations: [ITEM, { peer: 1 }], next_before: 9 });
  const page = await api.conversations("t", { limit: 20, before: 30 });
  assert.deepEqual(requests, [{
    url: "http://chat.test/v1/conversations?limit=20&before=30",
    method: "GET",
    auth: "Token t",
    body: undefined,
  }]);
  assert.equal(page.nextBefore, 9);
  assert.equal(page.conversations.length, 1);
  assert.equal(page.conversations[0].peer, "Jack");
  assert.equal(page.conversations[0].peerReadUpto, 7);
  assert.equal(page.conversations[0].lastMessage.msg, "你好");
});

Deno.test("markRead, recall and search send what the wire contract names", async () => {
  const { api, requests } = answering({ messages: [ITEM.last_message], next_before: null });
  await api.markRead("t", "张三", 5);
  await api.recall("t", 12);
  const found = await api.search("t", "张三", "你好", { limit: 10 });
  assert.deepEqual(requests.map(({ url, method, body }) => [method, url, body]), [
    ["POST", "http://chat.test/v1/chat/%E5%BC%A0%E4%B8%89/read", { message_id: 5 }],
    ["DELETE", "http://chat.test/v1/messages/12", undefined],
    [
      "GET",
      "http://chat.test/v1/chat/%E5%BC%A0%E4%B8%89/messages?q=%E4%BD%A0%E5%A5%BD&limit=10",
      undefined,
    ],
  ]);
  assert.deepEqual(found.messages.map((m) => m.messageId), [9]);
});
