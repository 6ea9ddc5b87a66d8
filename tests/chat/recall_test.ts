/**
 * Recall (撤回) on a real service: `{"recall": N}` on a chat.v2 socket and
 * `DELETE /v1/messages/<id>`. The text is erased (history shows a recalled item, search no longer
 * finds it), both users' v2 sockets on the pair get 30015, a seed socket sees exactly the seed's
 * frames, and a recalled message that still waited is never delivered.
 */
import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient, type Frame } from "../support/ws_client.ts";

const SEED_STATUSES = new Set([30001, 30002, 30003, 30098, 30099]);

/** Tom and Jack, registered, with a way to open sockets for each. */
async function tomAndJack(server: TestServer) {
  const tokens = {
    Tom: await registerAndLogin(server, "Tom"),
    Jack: await registerAndLogin(server, "Jack"),
  };
  const open = (who: "Tom" | "Jack", v2: boolean) =>
    ChatClient.connect(server.wsUrl, who === "Tom" ? "Jack" : "Tom", tokens[who], { v2 });
  return { tokens, open };
}

/** Sends `msg` with a client id and resolves with its message id once stored. */
async function send(client: ChatClient, msg: string): Promise<number> {
  const id = crypto.randomUUID();
  client.sendMessage(msg, id);
  const stored = await client.nextMatching((f) => f.status === 30010 && f.body.id === id, msg);
  return stored.body.message_id as number;
}

/** The next 30001 carrying `msg`, failing on any other 30001 first. */
async function nextMessage(client: ChatClient, label: string): Promise<Frame> {
  return await client.nextMatching((f) => f.status === 30001, label);
}

const recalled = (messageId: number, fromUser: string) =>
  JSON.stringify({
    status: 30015,
    msg: "Recalled",
    body: { message_id: messageId, from_user: fromUser },
  });

Deno.test("a recall erases the text: both users' v2 sockets get 30015, history and search follow, a seed socket sees only seed frames", async () => {
  await using server = await startTestServer();
  const { tokens, open } = await tomAndJack(server);
  await using tom = await open("Tom", true);
  await using tomElsewhere = await open("Tom", true);
  await using jack = await open("Jack", true);
  await using jackSeed = await open("Jack", false);
  const secret = await send(tom, "the secret plan: 你好 4711");
  assert.equal((await nextMessage(jack, "secret at Jack v2")).body.message_id, secret);
  assert.equal((await nextMessage(jackSeed, "secret at Jack seed")).body.message_id, secret);

  tom.sendJson({ recall: secret });
  for (
    const [client, label] of [[tom, "Tom"], [tomElsewhere, "Tom elsewhere"], [
      jack,
      "Jack",
    ]] as const
  ) {
    const frame = await client.nextMatching((f) => f.status === 30015, `30015 at ${label}`);
    assert.equal(client.raw[client.frames.indexOf(frame)], recalled(secret, "Tom"), label);
  }

  // History lists the item, recalled and empty, for both; search no longer finds it.
  for (const [who, peer] of [["Tom", "Jack"], ["Jack", "Tom"]] as const) {
    const page = await api(server, "GET", `/v1/chat/${peer}/messages`, { token: tokens[who] });
    const items = page.json.body.messages as Record<string, unknown>[];
    assert.deepEqual(Object.keys(items[0]), [
      "message_id",
      "from_user",
      "to_user",
      "msg",
      "send_time",
      "recalled",
    ]);
    assert.deepEqual(
      { ...items[0], send_time: "" },
      {
        message_id: secret,
        from_user: "Tom",
        to_user: "Jack",
        msg: "",
        send_time: "",
        recalled: true,
      },
    );
    for (const q of ["secret", "你好", "4711"]) {
      const found = await api(
        server,
        "GET",
        `/v1/chat/${peer}/messages?q=${encodeURIComponent(q)}`,
        {
          token: tokens[who],
        },
      );
      assert.deepEqual(found.json.body.messages, [], q);
    }
  }

  // The seed socket's next frame is Tom's next message: nothing about the recall came before it.
  const after = await send(tom, "after the recall");
  assert.equal((await jackSeed.next("seed's next frame")).body.message_id, after);
  assert.ok(
    jackSeed.frames.every((f) => SEED_STATUSES.has(f.status)),
    JSON.stringify(jackSeed.frames),
  );
});

Deno.test("a recalled message that still waits is never delivered, to a seed or a v2 socket", async () => {
  await using server = await startTestServer();
  const { open } = await tomAndJack(server);
  await using tom = await open("Tom", true);
  for (const v2 of [false, true]) {
    const texts = ["one", "two, recalled", "three"].map((text) => `${text} (v2=${v2})`);
    const ids: number[] = [];
    for (const text of texts) ids.push(await send(tom, text));
    tom.sendJson({ recall: ids[1] });
    await tom.nextMatching((f) => f.status === 30015 && f.body.message_id === ids[1], "30015");
    const last = await send(tom, `four (v2=${v2})`);
    await using jack = await open("Jack", v2);
    const got: string[] = [];
    while (got.length < 3) {
      got.push((await nextMessage(jack, `waiting, v2=${v2}`)).body.msg as string);
    }
    assert.deepEqual(got, [texts[0], texts[2], `four (v2=${v2})`]);
    assert.ok(jack.frames.every((f) => f.body.message_id !== ids[1]));
    assert.equal(jack.frames.findLast((f) => f.status === 30001)?.body.message_id, last);
  }
});

Deno.test("a recall of someone else's message, or past RECALL_WINDOW, gets 30004 naming it; the socket stays open", async () => {
  let now = Date.now();
  await using server = await startTestServer({ clock: () => now, env: { RECALL_WINDOW: "2m" } });
  const { open } = await tomAndJack(server);
  await using tom = await open("Tom", true);
  await using jack = await open("Jack", true);
  const id = await send(tom, "hello");
  await nextMessage(jack, "hello at Jack");
  jack.sendJson({ recall: id, id: "r1" });
  const notYours = await jack.nextMatching((f) => f.status === 30004, "30004 at Jack");
  assert.deepEqual(notYours.body, {
    reason: "not a message you sent to Tom",
    recall: id,
    id: "r1",
  });
  now += 2 * 60_000 + 1;
  tom.sendJson({ recall: id });
  const tooLate = await tom.nextMatching((f) => f.status === 30004, "30004 at Tom");
  assert.deepEqual(tooLate.body, {
    reason: "sent more than 120 s ago (RECALL_WINDOW)",
    recall: id,
  });
  // Both sockets still work, and the message still reads "hello".
  const next = await send(tom, "still open");
  assert.equal((await nextMessage(jack, "still open at Jack")).body.message_id, next);
  assert.ok(![...tom.frames, ...jack.frames].some((f) => f.status === 30015));
});

Deno.test("DELETE /v1/messages/<id>: 200 for the sender within the window (30015 to v2 sockets), else 403 / 10012", async () => {
  let now = Date.now();
  await using server = await startTestServer({ clock: () => now });
  const { tokens, open } = await tomAndJack(server);
  await using tom = await open("Tom", true);
  await using jack = await open("Jack", true);
  const first = await send(tom, "first");
  const second = await send(tom, "second");
  const recall = (id: number | string, token?: string) =>
    api(server, "DELETE", `/v1/messages/${id}`, { token });

  const byJack = await recall(first, tokens.Jack);
  assert.equal(byJack.httpStatus, 403);
  assert.deepEqual(byJack.json, {
    status: 10012,
    msg: "Message cannot be recalled",
    body: { message_id: first, reason: "not a message you sent" },
  });
  const ok = await recall(first, tokens.Tom);
  assert.equal(ok.httpStatus, 200);
  assert.deepEqual(ok.json, {
    status: 10001,
    msg: "Recalled",
    body: { message_id: first, from_user: "Tom" },
  });
  for (const client of [tom, jack]) {
    const frame = await client.nextMatching((f) => f.status === 30015, "30015");
    assert.deepEqual(frame.body, { message_id: first, from_user: "Tom" });
  }
  // Again: the same answer, and nothing new on the sockets.
  assert.equal((await recall(first, tokens.Tom)).httpStatus, 200);
  now += 3 * 60_000;
  const late = await recall(second, tokens.Tom);
  assert.equal(late.httpStatus, 403);
  assert.equal(late.json.status, 10012);
  assert.match(late.json.body.reason as string, /RECALL_WINDOW/);
  assert.equal((await recall(second + 1000, tokens.Tom)).json.status, 10012);
  for (const bad of ["abc", "0", "-1", "1.5"]) {
    const answer = await recall(bad, tokens.Tom);
    assert.equal(answer.httpStatus, 400, bad);
    assert.equal(answer.json.status, 10003, bad);
  }
  assert.equal((await recall(second)).httpStatus, 401);
  assert.equal(
    (await api(server, "GET", `/v1/messages/${second}`, { token: tokens.Tom })).httpStatus,
    405,
  );
  // Only one 30015 reached each socket.
  const after = await send(tom, "after");
  await jack.nextMatching((f) => f.body.message_id === after, "after at Jack");
  assert.equal(jack.frames.filter((f) => f.status === 30015).length, 1);
});

Deno.test("recall frames are paced like messages: past MSG_BURST a 30004 says when to retry", async () => {
  await using server = await startTestServer({ env: { MSG_RATE: "1", MSG_BURST: "2" } });
  const { open } = await tomAndJack(server);
  await using tom = await open("Tom", true);
  const id = await send(tom, "hello");
  // Two recalls fit the burst (the second finds it recalled already), the third does not.
  for (let i = 0; i < 3; i++) tom.sendJson({ recall: id });
  const answers: Frame[] = [];
  while (answers.length < 3) {
    answers.push(await tom.nextMatching((f) => f.status === 30015 || f.status === 30004, "answer"));
  }
  assert.deepEqual(answers.map((f) => f.status).sort(), [30004, 30015, 30015]);
  const refused = answers.find((f) => f.status === 30004)!;
  assert.equal(refused.body.recall, id);
  assert.match(refused.body.reason as string, /^rate limit exceeded; retry after \d+ ms$/);
});

Deno.test("a recall updates both users' inboxes: 30021 with the last message recalled", async () => {
  await using server = await startTestServer();
  const { tokens, open } = await tomAndJack(server);
  await using tom = await open("Tom", true);
  await using jackInbox = await ChatClient.connectInbox(server.wsUrl, tokens.Jack);
  await using tomInbox = await ChatClient.connectInbox(server.wsUrl, tokens.Tom);
  const id = await send(tom, "take this back");
  tom.sendJson({ recall: id });
  for (const [inbox, peer] of [[jackInbox, "Tom"], [tomInbox, "Jack"]] as const) {
    const update = await inbox.nextMatching(
      (f) =>
        f.status === 30021 &&
        (f.body.last_message as Record<string, unknown> | null)?.recalled === true,
      `30021 with the recall, inbox of ${peer === "Tom" ? "Jack" : "Tom"}`,
    );
    assert.equal(update.body.peer, peer);
    assert.deepEqual(
      { ...(update.body.last_message as Record<string, unknown>), send_time: "" },
      { message_id: id, from_user: "Tom", to_user: "Jack", msg: "", send_time: "", recalled: true },
    );
  }
});
