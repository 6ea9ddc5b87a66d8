/**
 * The admin API from the test app backend's side, against a real server: API keys (and what is
 * not one), users, tokens, messages sent as a user (the socket's path: presence, waiting, order,
 * dedupe, limits) and erasure.
 */
import assert from "node:assert/strict";
import { ApiKeys } from "../../lib/admin/api_keys.ts";
import {
  api,
  historyTexts,
  registerAndLogin,
  startTestServer,
  type TestServer,
} from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { AppBackend } from "../support/app_backend.ts";
import { waitForAsync } from "../support/wait.ts";

async function apiKey(server: TestServer, name = "app"): Promise<string> {
  const added = await new ApiKeys(server.repository, Date.now).add(name);
  assert.ok(added.ok);
  return added.key;
}

function admin(server: TestServer, key: string, method: string, path: string, body?: unknown) {
  return api(server, method, path, { body, headers: { authorization: `Bearer ${key}` } });
}

Deno.test("the admin API takes API keys only: no chat token, JWT or wrong key; wrong keys are limited", async () => {
  await using app = await AppBackend.start();
  await using server = await startTestServer({
    env: { JWT_SECRET: app.secret, AUTH_MAX_PER_IP: "5" },
  });
  const key = await apiKey(server);
  const chatToken = await registerAndLogin(server, "Tom");
  const jwt = await app.sign("HS256", { sub: "Tom", exp: Math.floor(Date.now() / 1000) + 60 });
  for (const wrong of [chatToken, jwt, key.slice(0, -2) + "xx"]) {
    const answer = await admin(server, wrong, "GET", "/v1/admin/users/tom");
    assert.equal(answer.httpStatus, 401);
    assert.equal(answer.json.status, 10004);
  }
  const none = await api(server, "GET", "/v1/admin/users/tom");
  assert.equal(none.httpStatus, 401);
  // An API key is not a chat token either.
  await using socket = await ChatClient.connect(server.wsUrl, "tom", key);
  await socket.expect(30002);
  assert.equal((await api(server, "GET", "/v1/chat/tom/messages", { token: key })).httpStatus, 401);
  // Wrong keys until the address is over its limit (of 5 per node; the cluster has two).
  const statuses = [];
  for (let i = 0; i < 8; i++) {
    statuses.push((await admin(server, "chatk_guess", "GET", "/v1/admin/users/tom")).httpStatus);
  }
  assert.ok(statuses.includes(429), `${statuses}`);
  const limited = await admin(server, key, "GET", "/v1/admin/users/tom");
  assert.equal(limited.httpStatus, 429, "even the right key waits once the address is limited");
  assert.equal(limited.json.status, 10007);
});

Deno.test("PUT creates or updates a user; tokens are issued for it", async () => {
  await using server = await startTestServer();
  const key = await apiKey(server);
  const created = await admin(server, key, "PUT", "/v1/admin/users/Tom");
  assert.equal(created.httpStatus, 201);
  assert.deepEqual(created.json.body, { username: "Tom" });
  const again = await admin(server, key, "PUT", "/v1/admin/users/tom", {
    password: "password123",
    email: "tom@example.com",
  });
  assert.equal(again.httpStatus, 200);
  assert.deepEqual(again.json.body, { username: "Tom" });
  // The password set by the app now logs Tom in.
  const login = await api(server, "POST", "/v1/user/token", {
    body: { username: "Tom", password: "password123" },
  });
  assert.equal(login.httpStatus, 201);
  const bad = await admin(server, key, "PUT", "/v1/admin/users/Tom", { password: "short" });
  assert.equal(bad.httpStatus, 400);
  assert.equal(bad.json.body.field, "password");
  assert.equal((await admin(server, key, "PUT", "/v1/admin/users/a%20b")).httpStatus, 400);

  const issued = await admin(server, key, "POST", "/v1/admin/users/tom/tokens", { ttl: "15m" });
  assert.equal(issued.httpStatus, 201);
  const { token, expire } = issued.json.body as { token: string; expire: string };
  const expiresAt = new Date(expire.replace(" ", "T")).getTime();
  assert.ok(Math.abs(expiresAt - (Date.now() + 15 * 60_000)) < 5_000, expire);
  await using socket = await ChatClient.connect(server.wsUrl, "tom", token);
  socket.sendMessage("note", "n-1");
  await socket.nextMatching((frame) => frame.status === 30010, "stored");
  const badTtl = await admin(server, key, "POST", "/v1/admin/users/tom/tokens", { ttl: "1y" });
  assert.equal(badTtl.httpStatus, 400);
  const nobody = await admin(server, key, "POST", "/v1/admin/users/nobody/tokens");
  assert.equal(nobody.httpStatus, 404);
  assert.equal(nobody.json.status, 10006);
});

Deno.test("a system message is stored and delivered as if sent on a socket", async () => {
  await using server = await startTestServer();
  const key = await apiKey(server);
  const jackToken = await registerAndLogin(server, "Jack");
  await admin(server, key, "PUT", "/v1/admin/users/System");
  const send = (msg: string, id?: string) =>
    admin(server, key, "POST", "/v1/admin/messages", { from: "system", to: "jack", msg, id });

  // Jack away: the messages wait, and come first, in order, when he opens the pair.
  const first = await send("welcome", "w-1");
  assert.equal(first.httpStatus, 201);
  const messageId = first.json.body.message_id as number;
  assert.ok(Number.isSafeInteger(messageId));
  assert.match(first.json.body.send_time as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  await send("second");
  const resend = await send("welcome", "w-1");
  assert.equal(resend.httpStatus, 200, "the same id again stores nothing new");
  assert.equal(resend.json.body.message_id, messageId);

  await using jack = await ChatClient.connect(server.wsUrl, "System", jackToken);
  const waiting = [await jack.expect(30001), await jack.expect(30001)];
  assert.deepEqual(waiting.map((frame) => frame.body.msg), ["welcome", "second"]);
  assert.equal(waiting[0].body.from_user, "System");
  // Jack online: live.
  await send("live one");
  assert.equal((await jack.expect(30001)).body.msg, "live one");
  assert.deepEqual(await historyTexts(server, jackToken, "system"), [
    "welcome",
    "second",
    "live one",
  ]);

  const tooLong = await admin(server, key, "POST", "/v1/admin/messages", {
    from: "system",
    to: "jack",
    msg: "x".repeat(4097),
  });
  assert.equal(tooLong.httpStatus, 400);
  assert.equal(tooLong.json.body.field, "msg");
  const unknown = await admin(server, key, "POST", "/v1/admin/messages", {
    from: "system",
    to: "nobody",
    msg: "hi",
  });
  assert.equal(unknown.httpStatus, 404);
  assert.equal(unknown.json.status, 10006);
});

Deno.test("GET tells whether a user is online, when last seen and when created", async () => {
  await using server = await startTestServer();
  const key = await apiKey(server);
  const tomToken = await registerAndLogin(server, "Tom");
  const before = await admin(server, key, "GET", "/v1/admin/users/TOM");
  assert.equal(before.httpStatus, 200);
  assert.equal(before.json.body.username, "Tom");
  assert.equal(before.json.body.online, false);
  assert.equal(before.json.body.last_seen, null);
  assert.match(before.json.body.created_at as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const tom = await ChatClient.connect(server.wsUrl, "tom", tomToken);
  const online = await admin(server, key, "GET", "/v1/admin/users/tom");
  assert.equal(online.json.body.online, true);
  await tom.close();
  await waitForAsync(async () => {
    const after = await admin(server, key, "GET", "/v1/admin/users/tom");
    return after.json.body.online === false && after.json.body.last_seen !== null;
  }, "Tom offline with a last_seen");
  assert.equal((await admin(server, key, "GET", "/v1/admin/users/nobody")).httpStatus, 404);
});

Deno.test("DELETE erases a user: sockets get 30002 and 30003, peers' history forgets them", async () => {
  await using server = await startTestServer();
  const key = await apiKey(server);
  const tomToken = await registerAndLogin(server, "Tom");
  const jackToken = await registerAndLogin(server, "Jack");
  const aliceToken = await registerAndLogin(server, "Alice");
  await using tom = await ChatClient.connect(server.wsUrl, "jack", tomToken);
  await using jack = await ChatClient.connect(server.wsUrl, "tom", jackToken);
  await using jackWithAlice = await ChatClient.connect(server.wsUrl, "alice", jackToken);
  tom.sendMessage("secret", "s-1");
  await jack.nextMatching((frame) => frame.status === 30001, "Tom's message");
  jackWithAlice.sendMessage("hi Alice", "a-1");
  await jackWithAlice.nextMatching((frame) => frame.status === 30010, "stored");

  const erased = await admin(server, key, "DELETE", "/v1/admin/users/tom");
  assert.equal(erased.httpStatus, 200);
  assert.deepEqual(erased.json.body, { username: "Tom", messages_deleted: 1 });
  await tom.nextMatching((frame) => frame.status === 30002, "Tom's socket told");
  assert.equal((await tom.closed()).code, 1008);
  const told = await jack.nextMatching((frame) => frame.status === 30003, "Jack's socket told");
  assert.equal(told.msg, "Target user Tom does not exist");
  assert.equal((await jack.closed()).code, 1008);

  assert.equal(
    (await api(server, "GET", "/v1/chat/tom/messages", { token: jackToken })).httpStatus,
    404,
  );
  assert.equal(
    (await api(server, "GET", "/v1/chat/jack/messages", { token: tomToken })).httpStatus,
    401,
  );
  assert.deepEqual(await historyTexts(server, aliceToken, "jack"), ["hi Alice"]);
  assert.equal(jackWithAlice.pending.length, 0, "Jack's chat with Alice goes on");
  assert.equal((await admin(server, key, "DELETE", "/v1/admin/users/tom")).httpStatus, 404);
});

Deno.test("a system message over its sender's quota is refused with 429, nothing stored", async () => {
  const evening = Date.UTC(2024, 4, 1, 23, 0, 0);
  await using server = await startTestServer({
    env: { QUOTA_DAILY_MESSAGES: "2", QUOTA_WAITING_MESSAGES: "1" },
    clock: () => evening,
  });
  const key = await apiKey(server);
  const jack = await registerAndLogin(server, "Jack");
  for (const name of ["System", "Alice", "Bob"]) {
    assert.equal((await admin(server, key, "PUT", `/v1/admin/users/${name}`)).httpStatus, 201);
  }
  const send = (to: string, msg: string, id?: string) =>
    admin(server, key, "POST", "/v1/admin/messages", { from: "System", to, msg, id });
  assert.equal((await send("Jack", "one", "s1")).httpStatus, 201);
  // Jack has one waiting from System: the waiting quota (1) refuses the next.
  const waiting = await send("Jack", "two");
  assert.equal(waiting.httpStatus, 429);
  assert.deepEqual(waiting.json, {
    status: 10017,
    msg: "Too many messages waiting",
    body: { limit: 1 },
  });
  assert.equal(waiting.headers.get("retry-after"), null);
  // A resend of a stored id is never refused.
  assert.equal((await send("Jack", "one", "s1")).httpStatus, 200);
  assert.equal((await send("Alice", "hello")).httpStatus, 201);
  // Two stored today: the daily quota (2) refuses the third, until midnight UTC.
  const daily = await send("Bob", "again");
  assert.equal(daily.httpStatus, 429);
  assert.deepEqual(daily.json, {
    status: 10016,
    msg: "Daily quota exceeded",
    body: { quota: "messages", limit: 2, retry_after_ms: 3_600_000 },
  });
  assert.equal(daily.headers.get("retry-after"), "3600");
  assert.deepEqual(await historyTexts(server, jack, "System"), ["one"]);
});
