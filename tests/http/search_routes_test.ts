/**
 * `GET /v1/chat/<peer>/messages?q=<text>` over a real server, with messages sent by real seed
 * sockets (no `id`: they arrive at the peer's open socket, which is how the test knows they are
 * stored).
 */
import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";

interface Page {
  messages: { message_id: number; from_user: string; to_user: string; msg: string }[];
  next_before: number | null;
}

/** GET a search, asserting a 200 / 10001 answer in the history envelope. */
async function search(server: TestServer, token: string, peer: string, query: string) {
  const path = `/v1/chat/${encodeURIComponent(peer)}/messages?${query}`;
  const response = await api(server, "GET", path, { token });
  assert.equal(response.httpStatus, 200, JSON.stringify(response.json));
  assert.equal(response.json.status, 10001);
  assert.deepEqual(Object.keys(response.json.body), ["messages", "next_before"]);
  return response.json.body as unknown as Page;
}

/** Tom and Jack with a socket each to the other; `send` stores messages and returns their ids. */
async function tomAndJack(server: TestServer) {
  const tomToken = await registerAndLogin(server, "Tom");
  const jackToken = await registerAndLogin(server, "Jack");
  const tom = await ChatClient.connect(server.wsUrl, "Jack", tomToken);
  const jack = await ChatClient.connect(server.wsUrl, "Tom", jackToken);
  /** Sends each text as a seed client and waits until the peer received it. */
  const send = async (from: "Tom" | "Jack", ...texts: string[]): Promise<number[]> => {
    const [sender, receiver] = from === "Tom" ? [tom, jack] : [jack, tom];
    const ids: number[] = [];
    for (const text of texts) {
      sender.sendMessage(text);
      const frame = await receiver.nextMatching(
        (f) => f.status === 30001 && f.body.msg === text,
        `${from}'s "${text}"`,
      );
      ids.push(frame.body.message_id as number);
    }
    return ids;
  };
  return {
    tomToken,
    jackToken,
    send,
    async [Symbol.asyncDispose]() {
      await Promise.all([tom.close(), jack.close()]);
    },
  };
}

Deno.test("search finds a Chinese phrase of two characters, newest first, for both users", async () => {
  await using server = await startTestServer();
  await using chat = await tomAndJack(server);
  const [hello] = await chat.send("Tom", "你好 Jack，在吗?");
  const [reply] = await chat.send("Jack", "在的，你好！");
  await chat.send("Tom", "今天开会吗");
  const fromTom = await search(server, chat.tomToken, "Jack", `q=${encodeURIComponent("你好")}`);
  assert.deepEqual(fromTom.messages.map((m) => m.message_id), [reply, hello]);
  assert.deepEqual(fromTom.messages.map((m) => m.msg), ["在的，你好！", "你好 Jack，在吗?"]);
  assert.deepEqual(fromTom.messages.map((m) => [m.from_user, m.to_user]), [
    ["Jack", "Tom"],
    ["Tom", "Jack"],
  ]);
  assert.equal(fromTom.next_before, null);
  // The same items as history lists them, for the other user too.
  const fromJack = await search(server, chat.jackToken, "Tom", `q=${encodeURIComponent("你好")}`);
  assert.deepEqual(fromJack, fromTom);
  const history = await api(server, "GET", "/v1/chat/Jack/messages", { token: chat.tomToken });
  const listed = (history.json.body as unknown as Page).messages;
  assert.deepEqual(fromTom.messages, listed.filter((m) => m.msg.includes("你好")));
  // One character, and a longer phrase across a space.
  const one = await search(server, chat.tomToken, "Jack", `q=${encodeURIComponent("在")}`);
  assert.deepEqual(one.messages.map((m) => m.message_id), [reply, hello]);
  const phrase = await search(server, chat.tomToken, "Jack", `q=${encodeURIComponent("好 jack")}`);
  assert.deepEqual(phrase.messages.map((m) => m.message_id), [hello]);
});

Deno.test("search is case-insensitive and pages like history with limit and next_before", async () => {
  await using server = await startTestServer();
  await using chat = await tomAndJack(server);
  const ids = [
    ...await chat.send("Tom", "Deploy at five", "lunch?"),
    ...await chat.send("Jack", "deploy done", "DEPLOY again?"),
    ...await chat.send("Tom", "no more deploys"),
  ];
  const deploys = [ids[4], ids[3], ids[2], ids[0]];
  const seen: number[] = [];
  let before: number | null = null;
  do {
    const query: string = `q=DePlOy&limit=3${before === null ? "" : `&before=${before}`}`;
    const page = await search(server, chat.jackToken, "tom", query);
    assert.ok(page.messages.length <= 3);
    seen.push(...page.messages.map((m) => m.message_id));
    before = page.next_before;
  } while (before !== null && seen.length < 10);
  assert.deepEqual(seen, deploys);
  const first = await search(server, chat.jackToken, "Tom", "q=deploy&limit=3");
  assert.equal(first.next_before, ids[2]);
  // Spaces around the text are not part of it.
  const spaced = await search(server, chat.tomToken, "Jack", "q=%20lunch%20");
  assert.deepEqual(spaced.messages.map((m) => m.message_id), [ids[1]]);
  assert.deepEqual((await search(server, chat.tomToken, "Jack", "q=dinner")).messages, []);
});

Deno.test("search rejects an empty or too long q with 400 / 10003, needs a token and a peer", async () => {
  await using server = await startTestServer();
  const token = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jack");
  for (const query of ["q=", "q=%20%20", "q=a%00b", `q=${"字".repeat(201)}`, "q=ok&limit=0"]) {
    const response = await api(server, "GET", `/v1/chat/Jack/messages?${query}`, { token });
    assert.equal(response.httpStatus, 400, query);
    assert.equal(response.json.status, 10003, query);
    assert.equal(response.json.body.field, query.includes("limit") ? "limit" : "q", query);
  }
  const longest = await search(server, token, "Jack", `q=${"字".repeat(200)}`);
  assert.deepEqual(longest.messages, []);
  const anonymous = await api(server, "GET", "/v1/chat/Jack/messages?q=hi");
  assert.equal(anonymous.httpStatus, 401);
  assert.equal(anonymous.json.status, 10004);
  const unknown = await api(server, "GET", "/v1/chat/Nobody/messages?q=hi", { token });
  assert.equal(unknown.httpStatus, 404);
  assert.equal(unknown.json.status, 10006);
});
