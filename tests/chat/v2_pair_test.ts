/**
 * Issue 12 on the pair socket, against a real service with real sockets: 30013 to my other v2
 * sockets, read markers (frame and HTTP) with 30012, 30016 delivered (live and on connect), and a
 * seed client beside it all that sees exactly the seed's frames.
 */
import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { adminKey, openV2 } from "../support/v2_clients.ts";

async function users(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

/** The next 30010, past the 30016s that may come between. */
async function stored30010(client: ChatClient) {
  const frame = await client.nextMatching((f) => f.status !== 30016, "30010");
  assert.equal(frame.status, 30010);
  return frame;
}

Deno.test("a message I send reaches my other v2 sockets on the pair as 30013, in order; not the sender, not a seed socket", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await users(server);
  await using jackSeed = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await using tomA = await openV2(server, "Jack", tom);
  await tomA.expect(30098);
  await jackSeed.expect(30098);
  await using tomB = await openV2(server, "Jack", tom);
  await tomB.expect(30098);
  await using tomSeed = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await tomSeed.expect(30098);
  tomA.sendMessage("one", "c-1");
  tomA.sendMessage("two", "c-2");
  const stored = [await stored30010(tomA), await stored30010(tomA)];
  for (const [i, text] of ["one", "two"].entries()) {
    const sent = await tomB.nextMatching((f) => f.status === 30013, `30013 of ${text}`);
    assert.deepEqual(sent.body, {
      msg: text,
      to_user: "Jack",
      send_time: stored[i].body.send_time,
      message_id: stored[i].body.message_id,
    });
  }
  assert.equal((await jackSeed.expect(30001)).body.msg, "one");
  assert.equal((await jackSeed.expect(30001)).body.msg, "two");
  // A reply from Jack comes after, on every socket of Tom; the sender and the seed socket got no
  // 30013 before it.
  jackSeed.sendMessage("three");
  for (const socket of [tomA, tomSeed, tomB]) {
    const next = await socket.nextMatching((f) => f.status !== 30016, "the reply");
    assert.equal(next.status, 30001);
    assert.equal(next.body.msg, "three");
  }
  assert.ok(!tomA.frames.some((f) => f.status === 30013), "no 30013 to the sending socket");
  assert.ok(!tomSeed.frames.some((f) => f.status === 30013 || f.status === 30016));
});

Deno.test("{read: N} moves my marker: the peer's v2 sockets get 30012 once; backwards is silent; a bad id gets 30004 naming it", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await users(server);
  await using tomV2 = await openV2(server, "Jack", tom);
  await using jackV2 = await openV2(server, "Tom", jack);
  await using jackSeed = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await tomV2.expect(30098);
  await jackV2.expect(30098);
  await jackSeed.expect(30098);
  jackV2.sendMessage("j1", "j-1");
  jackV2.sendMessage("j2", "j-2");
  const j1 = (await tomV2.nextMatching((f) => f.status === 30001, "j1")).body.message_id as number;
  const j2 = (await tomV2.nextMatching((f) => f.status === 30001, "j2")).body.message_id as number;
  tomV2.sendJson({ read: j2 });
  assert.deepEqual((await jackV2.nextMatching((f) => f.status === 30012, "30012")).body, {
    reader: "Tom",
    message_id: j2,
  });
  // Backwards, then one that is not Jack's to Tom: only the second is answered, on Tom's socket.
  tomV2.sendJson({ read: j1 });
  tomV2.sendJson({ read: j2 + 1000, id: "r-1" });
  assert.deepEqual((await tomV2.nextMatching((f) => f.status === 30004, "30004")).body, {
    reason: "not a message from Jack to you",
    read: j2 + 1000,
    id: "r-1",
  });
  // The seed socket of Jack saw only the seed's frames: 30098 (taken above) and its own nothing.
  jackV2.sendMessage("j3", "j-3");
  assert.equal((await tomV2.nextMatching((f) => f.status === 30001, "j3")).body.msg, "j3");
  assert.deepEqual(jackSeed.pending.filter((f) => f.status !== 30001), []);
  assert.equal(
    jackV2.frames.filter((f) => f.status === 30012).length,
    1,
    "the backwards read told nobody",
  );
});

Deno.test("POST /v1/chat/<peer>/read: 200 and 30012 to the peer's v2 sockets; bad id 400 10003; unknown peer 404", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await users(server);
  await using jackV2 = await openV2(server, "Tom", jack);
  jackV2.sendMessage("hello", "h-1");
  const id = (await stored30010(jackV2)).body.message_id as number;
  const read = await api(server, "POST", "/v1/chat/jack/read", {
    token: tom,
    body: { message_id: id },
  });
  assert.equal(read.httpStatus, 200);
  assert.equal(read.json.status, 10001);
  assert.deepEqual(read.json.body, { read_upto: id, unread: 0 });
  const told = await jackV2.nextMatching((f) => f.status === 30012, "30012");
  assert.deepEqual(told.body, { reader: "Tom", message_id: id });
  for (const body of [{ message_id: id + 99 }, { message_id: "1" }, {}]) {
    const bad = await api(server, "POST", "/v1/chat/Jack/read", { token: tom, body });
    assert.equal(bad.httpStatus, 400, JSON.stringify(body));
    assert.equal(bad.json.status, 10003);
    assert.equal(bad.json.body.field, "message_id");
  }
  // Jack's own message is no message from Tom to Jack.
  const own = await api(server, "POST", "/v1/chat/Tom/read", {
    token: jack,
    body: { message_id: id },
  });
  assert.equal(own.httpStatus, 400);
  const unknown = await api(server, "POST", "/v1/chat/Nobody/read", {
    token: tom,
    body: { message_id: id },
  });
  assert.equal(unknown.httpStatus, 404);
  const anonymous = await api(server, "POST", "/v1/chat/Jack/read", { body: { message_id: id } });
  assert.equal(anonymous.httpStatus, 401);
});

Deno.test("30016: my v2 socket hears when my messages reached the peer, cumulatively, and on connect what was delivered while away", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await users(server);
  {
    await using tomV2 = await openV2(server, "Jack", tom);
    tomV2.sendMessage("while Jack is away", "a-1");
    const first = (await stored30010(tomV2)).body.message_id as number;
    // Jack comes, as a seed client: the waiting message is delivered, Tom hears 30016.
    await using jackSeed = await ChatClient.connect(server.wsUrl, "Tom", jack);
    assert.equal((await jackSeed.expect(30098)).status, 30098);
    assert.equal((await jackSeed.expect(30001)).body.msg, "while Jack is away");
    const delivered = await tomV2.nextMatching((f) => f.status === 30016, "30016");
    assert.deepEqual(delivered.body, { message_id: first });
    tomV2.sendMessage("live", "a-2");
    const second = (await stored30010(tomV2)).body.message_id as number;
    await jackSeed.expect(30001);
    assert.deepEqual((await tomV2.nextMatching((f) => f.status === 30016, "30016")).body, {
      message_id: second,
    });
    // The seed client saw the seed's frames only.
    assert.deepEqual(jackSeed.pending, []);
  }
  // Tom comes back: his new v2 socket is told at once how far his messages were delivered.
  await using tomAgain = await openV2(server, "Jack", tom);
  const onConnect = await tomAgain.nextMatching((f) => f.status === 30016, "30016 on connect");
  assert.ok((onConnect.body.message_id as number) > 0);
});

Deno.test("a seed client whose peer uses every v2 feature sees exactly the seed's frames", async () => {
  await using server = await startTestServer();
  const { tom, jack } = await users(server);
  await using seed = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await using tomV2 = await openV2(server, "Jack", tom);
  await using tomV2b = await openV2(server, "Jack", tom);
  await tomV2.expect(30098);
  await tomV2b.expect(30098);
  seed.sendMessage("hi Tom");
  const id = (await tomV2.nextMatching((f) => f.status === 30001, "30001")).body
    .message_id as number;
  tomV2.sendJson({ typing: true });
  tomV2.sendJson({ read: id });
  tomV2.sendJson({ typing: false });
  tomV2.sendMessage("hi Jack", "t-1");
  await stored30010(tomV2);
  assert.equal((await tomV2b.nextMatching((f) => f.status === 30013, "30013")).body.msg, "hi Jack");
  await tomV2.close();
  await tomV2b.close();
  const frames = [await seed.next(), await seed.next(), await seed.next()];
  assert.deepEqual(frames.map((f) => f.status), [30098, 30001, 30099]);
  assert.deepEqual(Object.keys(frames[1].body), ["msg", "from_user", "send_time", "message_id"]);
  assert.deepEqual(seed.pending, []);
  assert.ok(seed.raw.every((raw) => raw.startsWith('{"status":300')));
});

Deno.test("a message the admin API sends as me reaches my v2 sockets on the pair as 30013", async () => {
  await using server = await startTestServer();
  const { tom } = await users(server);
  await using tomV2 = await openV2(server, "Jack", tom);
  const key = await adminKey(server);
  const posted = await api(server, "POST", "/v1/admin/messages", {
    body: { from: "Tom", to: "Jack", msg: "from the app" },
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(posted.httpStatus, 201);
  const sent = await tomV2.nextMatching((f) => f.status === 30013, "30013");
  assert.deepEqual(sent.body, {
    msg: "from the app",
    to_user: "Jack",
    send_time: posted.json.body.send_time,
    message_id: posted.json.body.message_id,
  });
});
