import assert from "node:assert/strict";
import {
  historyTexts,
  registerAndLogin,
  startTestServer,
  type TestServer,
} from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";

async function twoUsers(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

Deno.test("a socket over its message rate gets 30005 with retry_after_ms, and nothing is stored", async () => {
  let now = 1_000_000;
  await using server = await startTestServer({
    env: { MSG_RATE: "1", MSG_BURST: "3" },
    clock: () => now,
  });
  const { tom } = await twoUsers(server);
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  for (let i = 1; i <= 4; i++) toJack.sendMessage(`m${i}`, `id${i}`);
  for (let i = 1; i <= 3; i++) assert.equal((await toJack.expect(30010)).body.id, `id${i}`);
  const limited = await toJack.expect(30005);
  assert.deepEqual(limited, {
    status: 30005,
    msg: "Rate limit exceeded",
    body: { retry_after_ms: 1000, id: "id4" },
  });
  assert.deepEqual(await historyTexts(server, tom, "Jack"), ["m1", "m2", "m3"]);
  // After the wait the socket may send again.
  now += 1000;
  toJack.sendMessage("m5", "id5");
  assert.equal((await toJack.expect(30010)).body.id, "id5");
});

Deno.test("a user over MAX_CONNECTIONS_PER_USER gets 30006 and close 1008; a freed slot is reusable", async () => {
  await using server = await startTestServer({ env: { MAX_CONNECTIONS_PER_USER: "2" } });
  const { tom } = await twoUsers(server);
  const first = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using second = await ChatClient.connect(server.wsUrl, "Jack", tom);
  assert.equal(second.error, null);
  const third = await ChatClient.connect(server.wsUrl, "Jack", tom);
  assert.deepEqual(await third.next(), {
    status: 30006,
    msg: "Too many connections",
    body: { limit: 2 },
  });
  assert.equal((await third.closed()).code, 1008);
  await first.close();
  // The server counts the close when it sees it; retry until the slot is free.
  const deadline = Date.now() + 5000;
  for (;;) {
    const again = await ChatClient.connect(server.wsUrl, "Jack", tom);
    again.sendMessage("hello", "probe");
    const frame = await again.next();
    if (frame.status === 30010) {
      await again.close();
      break;
    }
    assert.equal(frame.status, 30006);
    await again.closed();
    assert.ok(Date.now() < deadline, "the slot was never freed");
  }
});

Deno.test("an address over MAX_CONNECTIONS_PER_IP is refused with HTTP 429", async () => {
  await using server = await startTestServer({ env: { MAX_CONNECTIONS_PER_IP: "2" } });
  const { tom } = await twoUsers(server);
  await using one = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using two = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const refused = await ChatClient.connect(server.wsUrl, "Jack", tom);
  assert.match(refused.error ?? "", /429/);
  await refused.closed();
  assert.equal(one.error, null);
  assert.equal(two.error, null);
});

Deno.test("past MAX_CONNECTIONS in all, upgrades are refused with HTTP 503", async () => {
  await using server = await startTestServer({ env: { MAX_CONNECTIONS: "1" } });
  const { tom, jack } = await twoUsers(server);
  await using one = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const refused = await ChatClient.connect(server.wsUrl, "Tom", jack);
  assert.match(refused.error ?? "", /503/);
  await refused.closed();
  assert.equal(one.error, null);
});

Deno.test("ALLOWED_ORIGINS refuses other browser origins with 403 and allows listed ones and non-browsers", async () => {
  await using server = await startTestServer({
    env: { ALLOWED_ORIGINS: "https://chat.example.com" },
  });
  const { tom } = await twoUsers(server);
  const evil = await ChatClient.connect(server.wsUrl, "Jack", tom, {
    headers: { origin: "https://evil.example" },
  });
  assert.match(evil.error ?? "", /403/);
  await evil.closed();
  await using good = await ChatClient.connect(server.wsUrl, "Jack", tom, {
    headers: { origin: "https://chat.example.com" },
  });
  await using plain = await ChatClient.connect(server.wsUrl, "Jack", tom);
  good.sendMessage("from the page", "g");
  plain.sendMessage("from a program", "p");
  assert.equal((await good.expect(30010)).body.id, "g");
  assert.equal((await plain.expect(30010)).body.id, "p");
});

Deno.test("by default any origin may connect", async () => {
  await using server = await startTestServer();
  const { tom } = await twoUsers(server);
  await using client = await ChatClient.connect(server.wsUrl, "Jack", tom, {
    headers: { origin: "null" },
  });
  assert.equal(client.error, null);
});

Deno.test("HTTP responses carry security headers", async () => {
  await using server = await startTestServer();
  for (const path of ["/healthz", "/nope", "/v1/chat/tom"]) {
    const response = await fetch(server.baseUrl + path);
    await response.body?.cancel();
    assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(response.headers.get("x-frame-options"), "DENY", path);
    assert.equal(response.headers.get("referrer-policy"), "no-referrer", path);
    assert.match(response.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  }
});
