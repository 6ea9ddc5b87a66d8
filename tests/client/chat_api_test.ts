/** The HTTP helper of the client module against a real service. */
import assert from "node:assert/strict";
import { ApiError, ChatApi, httpOrigin } from "../../lib/client/chat_api.ts";
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
    await server.repository.saveMessage({
      from: tom!,
      to: jack!,
      msg,
      sendTime: "2026-01-01 00:00:00",
      sentAt: 0,
      clientId: null,
    });
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

Deno.test("a ws:// or wss:// base URL is turned into its http origin", () => {
  assert.equal(httpOrigin("ws://127.0.0.1:7071/"), "http://127.0.0.1:7071");
  assert.equal(httpOrigin("wss://chat.example"), "https://chat.example");
  assert.equal(httpOrigin("http://h:1"), "http://h:1");
});
