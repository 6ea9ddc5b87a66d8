/** The HTTP helper of the client module against a real service. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  ApiError,
  ChatApi,
  httpOrigin,
  retryAfterMs,
  RetryLaterError,
} from "../../lib/client/chat_api.ts";
import { startTestServer } from "../support/server.ts";

Deno.test("register, login, history and logout work through the helper", async () => {
  await using server = await startTestServer();
  const chat = new ChatApi({ baseUrl: server.baseUrl + "/" });
  assert.equal(await chat.register("张三", "password123"), "张三");
  await chat.register("Jack", "password123", "jack@example.com");
  const { token, expire } = await chat.login("张三", "password123");
  assert.match(token, /^[0-9a-f-]{36}$/);
  assert.match(expire, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  const empty = await chat.history(token, "jack");
  assert.deepEqual(empty, { messages: [], nextBefore: null });
  await chat.logout(token);
  await assert.rejects(
    chat.history(token, "Jack"),
    (e) => e instanceof ApiError && e.status === 10004,
  );
});

Deno.test("history pages follow next_before", async () => {
  await using server = await startTestServer();
  const chat = new ChatApi({ baseUrl: server.baseUrl });
  await chat.register("Tom", "password123");
  await chat.register("Jack", "password123");
  const { token } = await chat.login("Tom", "password123");
  const jack = await server.repository.findUser("jack");
  const tom = await server.repository.findUser("tom");
  for (const msg of ["one", "two", "three"]) {
    await server.repository.saveMessages([{
      from: tom!,
      to: jack!,
      msg,
      sendTime: "2026-01-01 00:00:00",
      sentAt: 0,
      clientId: null,
    }]);
  }
  const first = await chat.history(token, "Jack", { limit: 2 });
  assert.deepEqual(first.messages.map((m) => m.msg), ["three", "two"]);
  assert.equal(first.messages[0].fromUser, "Tom");
  assert.equal(first.messages[0].toUser, "Jack");
  const second = await chat.history(token, "Jack", { limit: 2, before: first.nextBefore });
  assert.deepEqual(second.messages.map((m) => m.msg), ["one"]);
  assert.equal(second.nextBefore, null);
});

Deno.test("an error answer becomes an ApiError with the status, field and reason", async () => {
  await using server = await startTestServer();
  const chat = new ChatApi({ baseUrl: server.baseUrl });
  const error = await chat.register("Tom", "short").catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.httpStatus, 400);
  assert.equal(error.status, 10003);
  assert.equal(error.field, "password");
  assert.equal(error.reason, "must be 8 to 128 characters");
  await chat.register("Tom", "password123");
  const taken = await chat.register("tom", "password123").catch((e) => e);
  assert.equal(taken.status, 10002);
  const wrong = await chat.login("Tom", "wrong-password").catch((e) => e);
  assert.equal(wrong.httpStatus, 401);
  assert.equal(wrong.status, 10005);
});

Deno.test("an answer that is not an envelope is an ApiError with status 0", async () => {
  const chat = new ChatApi({
    baseUrl: "http://proxy.invalid",
    fetch: () => Promise.resolve(new Response("<html>Bad gateway</html>", { status: 502 })),
  });
  const error = await chat.login("Tom", "password123").catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.httpStatus, 502);
  assert.equal(error.status, 0);
});

Deno.test("a history item that is not a message is left out of the page", async () => {
  const good = {
    message_id: 2,
    from_user: "Jack",
    to_user: "Tom",
    msg: "hi",
    send_time: "2024-05-01 12:00:00",
  };
  const body = { messages: [good, { ...good, message_id: "1" }, null], next_before: null };
  const chat = new ChatApi({
    baseUrl: "http://proxy.invalid",
    fetch: () => Promise.resolve(Response.json({ status: 10001, msg: "OK", body })),
  });
  const page = await chat.history("t", "Jack");
  assert.deepEqual(page, {
    messages: [
      { messageId: 2, fromUser: "Jack", toUser: "Tom", msg: "hi", sendTime: "2024-05-01 12:00:00" },
    ],
    nextBefore: null,
  });
});

Deno.test("a ws:// or wss:// base URL is turned into its http origin", () => {
  assert.equal(httpOrigin("ws://127.0.0.1:7071/"), "http://127.0.0.1:7071");
  assert.equal(httpOrigin("wss://chat.example"), "https://chat.example");
  assert.equal(httpOrigin("http://h:1"), "http://h:1");
});

Deno.test("too many failed logins is a RetryLaterError: 429, status 10007, with the wait", async () => {
  await using server = await startTestServer({ env: { AUTH_MAX_PER_USER: "2" } });
  const chat = new ChatApi({ baseUrl: server.baseUrl });
  await chat.register("Tom", "password123");
  for (let i = 0; i < 2; i++) {
    const wrong = await chat.login("Tom", "wrong-password").catch((e) => e);
    assert.ok(wrong instanceof ApiError && !(wrong instanceof RetryLaterError));
  }
  const limited = await chat.login("Tom", "password123").catch((e) => e);
  assert.ok(limited instanceof RetryLaterError);
  assert.ok(limited instanceof ApiError, "a RetryLaterError is an ApiError");
  assert.equal(limited.httpStatus, 429);
  assert.equal(limited.status, 10007);
  assert.equal(limited.message, "Too many attempts, try again later");
  // The body's retry_after_ms: at most the window (1 minute by default), more than nothing.
  assert.ok(limited.retryAfterMs > 0 && limited.retryAfterMs <= 60_000, `${limited.retryAfterMs}`);
});

Deno.test("a busy database is a RetryLaterError: 503, status 10011, Retry-After in ms", async () => {
  await using server = await startTestServer({ env: { SQLITE_BUSY_TIMEOUT: "100ms" } });
  const chat = new ChatApi({ baseUrl: server.baseUrl });
  await chat.register("Tom", "password123");
  // Another connection holds the database's write lock; a login needs a write.
  const lock = new DatabaseSync(server.dbPath);
  try {
    lock.exec("BEGIN EXCLUSIVE");
    const busy = await chat.login("Tom", "password123").catch((e) => e);
    assert.ok(busy instanceof RetryLaterError);
    assert.equal(busy.httpStatus, 503);
    assert.equal(busy.status, 10011);
    assert.equal(busy.retryAfterMs, 1000);
  } finally {
    if (lock.isTransaction) lock.exec("ROLLBACK");
    lock.close();
  }
  // The lock is gone: the same request works.
  assert.match((await chat.login("Tom", "password123")).token, /^[0-9a-f-]{36}$/);
});

Deno.test("a 503 from a proxy without an envelope is a RetryLaterError with status 0", async () => {
  const chat = new ChatApi({
    baseUrl: "http://proxy.invalid",
    fetch: () =>
      Promise.resolve(
        new Response("<html>Service Unavailable</html>", {
          status: 503,
          headers: { "retry-after": "7" },
        }),
      ),
  });
  const error = await chat.history("t", "Jack").catch((e) => e);
  assert.ok(error instanceof RetryLaterError);
  assert.equal(error.status, 0);
  assert.equal(error.retryAfterMs, 7000);
});

Deno.test("the wait comes from retry_after_ms, else Retry-After in seconds or as a date, else 1 s", () => {
  const now = Date.parse("2026-11-25T10:00:00Z");
  assert.equal(retryAfterMs({ retry_after_ms: 1234.5 }, "9", now), 1235);
  assert.equal(retryAfterMs({}, "9", now), 9000);
  assert.equal(retryAfterMs(null, " 0 ", now), 0);
  assert.equal(retryAfterMs(null, "Wed, 25 Nov 2026 10:00:30 GMT", now), 30_000);
  assert.equal(retryAfterMs(null, "Wed, 25 Nov 2026 09:00:00 GMT", now), 0);
  assert.equal(retryAfterMs({ retry_after_ms: -1 }, "soon", now), 1000);
  assert.equal(retryAfterMs(null, null, now), 1000);
});

Deno.test("login hands out a device token and keeps it when it is shown again", async () => {
  await using server = await startTestServer();
  const chat = new ChatApi({ baseUrl: server.baseUrl });
  await chat.register("Tom", "password123");
  const first = await chat.login("Tom", "password123");
  assert.ok(first.device !== null && first.device.length > 20);
  const again = await chat.login("Tom", "password123", first.device);
  assert.equal(again.device, first.device);
  // A token that is not this user's is replaced, not echoed.
  const other = await chat.login("Tom", "password123", "made.up");
  assert.notEqual(other.device, "made.up");
});
