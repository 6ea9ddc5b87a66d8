/** `GET /v1/chat/<peer>/messages` over a real server, with messages stored by real sockets. */
import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";

/** A history item as the API returns it. */
interface Item {
  message_id: number;
  from_user: string;
  to_user: string;
  msg: string;
  send_time: string;
}

/** A user with a token and an open socket to one peer. */
interface Chatter {
  readonly name: string;
  readonly token: string;
  readonly client: ChatClient;
}

let nextId = 1;

/** Sends `msg` on `chatter`'s socket and resolves with its message id once stored. */
async function say(chatter: Chatter, msg: string): Promise<number> {
  const id = `c${nextId++}`;
  chatter.client.sendMessage(msg, id);
  const ack = await chatter.client.nextMatching(
    (f) => f.status === 30010 && f.body.id === id,
    `ack of ${id}`,
  );
  return ack.body.message_id as number;
}

/** Registers and logs in every user of `pairs` ([name, peer]), then opens each a socket to its peer. */
async function chatters(
  server: TestServer,
  ...pairs: [name: string, peer: string][]
): Promise<Chatter[]> {
  const tokens: string[] = [];
  for (const [name] of pairs) tokens.push(await registerAndLogin(server, name));
  const result: Chatter[] = [];
  for (const [i, [name, peer]] of pairs.entries()) {
    const client = await ChatClient.connect(server.wsUrl, peer, tokens[i]);
    result.push({ name, token: tokens[i], client });
  }
  return result;
}

/** Closes every chatter's socket. */
async function closeAll(list: readonly Chatter[]): Promise<void> {
  await Promise.all(list.map((c) => c.client.close()));
}

/** GET the history, asserting a 200 / 10001 answer. */
async function history(
  server: TestServer,
  token: string,
  peerPath: string,
  query = "",
): Promise<{ messages: Item[]; next_before: number | null }> {
  const response = await api(server, "GET", `/v1/chat/${peerPath}/messages${query}`, { token });
  assert.equal(response.httpStatus, 200, JSON.stringify(response.json));
  assert.equal(response.json.status, 10001);
  return response.json.body as unknown as { messages: Item[]; next_before: number | null };
}

Deno.test("history needs a valid token: 401 / 10004 without one", async () => {
  await using server = await startTestServer();
  await registerAndLogin(server, "Tom");
  for (const token of [undefined, crypto.randomUUID(), ""]) {
    const response = await api(server, "GET", "/v1/chat/Tom/messages", { token });
    assert.equal(response.httpStatus, 401, String(token));
    assert.equal(response.json.status, 10004);
    assert.equal(response.json.msg, "Token authentication failed");
  }
});

Deno.test("history of an unknown peer is 404 / 10006 naming the peer", async () => {
  await using server = await startTestServer();
  const token = await registerAndLogin(server, "Tom");
  const response = await api(server, "GET", "/v1/chat/Tony/messages", { token });
  assert.equal(response.httpStatus, 404);
  assert.equal(response.json.status, 10006);
  assert.equal(response.json.msg, "Target user Tony does not exist");
  assert.deepEqual(response.json.body, {});
});

Deno.test("history lists both directions of the conversation, newest first, and nothing else", async () => {
  await using server = await startTestServer();
  const all = await chatters(server, ["Tom", "Jerry"], ["Jerry", "Tom"], ["Spike", "Tom"]);
  await using _ = { [Symbol.asyncDispose]: () => closeAll(all) };
  const [tom, jerry, spike] = all;

  const first = await say(tom, "hello Jerry");
  const second = await say(jerry, "hi Tom");
  await say(spike, "not part of Tom and Jerry");
  const third = await say(tom, "how are you?");

  const page = await history(server, tom.token, "Jerry");
  assert.deepEqual(page.messages.map((m) => m.message_id), [third, second, first]);
  assert.deepEqual(
    page.messages.map((m) => [m.from_user, m.to_user, m.msg]),
    [
      ["Tom", "Jerry", "how are you?"],
      ["Jerry", "Tom", "hi Tom"],
      ["Tom", "Jerry", "hello Jerry"],
    ],
  );
  for (const item of page.messages) {
    assert.deepEqual(Object.keys(item).sort(), [
      "from_user",
      "message_id",
      "msg",
      "send_time",
      "to_user",
    ]);
    assert.match(item.send_time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  }
  assert.equal(page.next_before, null);

  // The peer sees the same conversation.
  const fromJerry = await history(server, jerry.token, "Tom");
  assert.deepEqual(fromJerry.messages, page.messages);
});

Deno.test("history returns 50 messages by default and pages with limit and next_before", async () => {
  await using server = await startTestServer();
  const all = await chatters(server, ["Tom", "Jerry"], ["Jerry", "Tom"]);
  await using _ = { [Symbol.asyncDispose]: () => closeAll(all) };
  const [tom, jerry] = all;
  const sent: number[] = [];
  for (let i = 0; i < 57; i++) sent.push(await say(i % 3 === 0 ? jerry : tom, `message ${i}`));
  const newestFirst = [...sent].reverse();

  const byDefault = await history(server, tom.token, "Jerry");
  assert.deepEqual(byDefault.messages.map((m) => m.message_id), newestFirst.slice(0, 50));
  assert.equal(byDefault.next_before, newestFirst[49]);

  for (const limit of [1, 7, 19, 57, 200]) {
    const seen: number[] = [];
    let before: number | null = null;
    let pages = 0;
    do {
      const query: string = `?limit=${limit}${before === null ? "" : `&before=${before}`}`;
      const page = await history(server, tom.token, "Jerry", query);
      assert.ok(page.messages.length <= limit);
      seen.push(...page.messages.map((m) => m.message_id));
      before = page.next_before;
      pages++;
      assert.ok(pages <= 60, "paging ends");
    } while (before !== null);
    assert.deepEqual(seen, newestFirst, `limit=${limit} walks every message once, in order`);
  }

  // A page before a given id starts just below it.
  const older = await history(server, tom.token, "Jerry", `?limit=3&before=${sent[10]}`);
  assert.deepEqual(older.messages.map((m) => m.message_id), [sent[9], sent[8], sent[7]]);
  assert.equal(older.next_before, sent[7]);
});

Deno.test("history rejects a bad limit or before with 400 / 10003 naming the field", async () => {
  await using server = await startTestServer();
  const token = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jerry");
  const cases: [string, string][] = [
    ["?limit=0", "limit"],
    ["?limit=201", "limit"],
    ["?limit=abc", "limit"],
    ["?limit=-1", "limit"],
    ["?limit=1.5", "limit"],
    ["?limit=", "limit"],
    ["?before=x", "before"],
    ["?before=0", "before"],
    ["?before=-5", "before"],
  ];
  for (const [query, field] of cases) {
    const response = await api(server, "GET", `/v1/chat/Jerry/messages${query}`, { token });
    assert.equal(response.httpStatus, 400, query);
    assert.equal(response.json.status, 10003, query);
    assert.equal(response.json.body.field, field, query);
    assert.equal(typeof response.json.body.reason, "string", query);
  }
});

Deno.test("history finds the peer case-insensitively and by a URL-encoded Chinese name", async () => {
  await using server = await startTestServer();
  const all = await chatters(server, ["Tom", "张三"], ["张三", "tom"]);
  await using _ = { [Symbol.asyncDispose]: () => closeAll(all) };
  const [tom, zhang] = all;
  const hello = await say(tom, "你好");
  const reply = await say(zhang, "hello Tom");

  const encoded = encodeURIComponent("张三");
  assert.equal(encoded, "%E5%BC%A0%E4%B8%89");
  const page = await history(server, tom.token, encoded);
  assert.deepEqual(page.messages.map((m) => m.message_id), [reply, hello]);
  assert.deepEqual(page.messages.map((m) => m.from_user), ["张三", "Tom"]);
  assert.deepEqual(page.messages.map((m) => m.to_user), ["Tom", "张三"]);

  for (const spelling of ["tom", "TOM", "Tom"]) {
    const fromZhang = await history(server, zhang.token, spelling);
    assert.deepEqual(fromZhang.messages.map((m) => m.message_id), [reply, hello], spelling);
  }
});
