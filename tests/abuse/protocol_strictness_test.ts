/**
 * Protocol and HTTP strictness (issue 11, item 9): a text frame that is not UTF-8, a frame that
 * carries both `msg` and `ack` from a seed client, and request bodies that end early. Body types
 * (415) are in `http/routing_test.ts`, the write probe of `/readyz` in `abuse/db_fault_test.ts`.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { connectChat } from "../support/raw_ws.ts";
import { waitForAsync } from "../support/wait.ts";

async function history(server: TestServer, token: string, peer: string): Promise<string[]> {
  const response = await api(server, "GET", `/v1/chat/${peer}/messages`, { token });
  return (response.json.body.messages as { msg: string }[]).map((message) => message.msg);
}

Deno.test("a text frame that is not UTF-8 ends that connection (no 1007: Deno drops it); the service and other sockets carry on", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  {
    await using raw = await connectChat(server.wsUrl, "Jack", tom);
    assert.equal(raw.status, 101);
    assert.equal((await raw.nextJson()).status, 30098, "Tom sees Jack online");
    await toTom.expect(30098, "Jack sees Tom online");
    await raw.sendText('{"msg":"before"}');
    assert.equal((await toTom.expect(30001)).body.msg, "before");
    // `{"msg":"` then a lone continuation byte and an overlong encoding.
    await raw.sendText(
      new Uint8Array([0x7b, 0x22, 0x6d, 0x73, 0x67, 0x22, 0x3a, 0x22, 0x80, 0xc0]),
    );
    const frames = await raw.readUntilClosed();
    assert.deepEqual(frames, [], "nothing after the bad frame, not even a close frame");
    assert.equal(raw.closeCode, null, "Deno ends the TCP connection without a close frame");
    assert.ok(raw.eof);
  }
  // Jack's socket stays up and learns that Tom left; Tom can connect again and send.
  await toTom.expect(30099, "Tom offline");
  await using again = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await again.expect(30098, "Tom sees Jack online again");
  await toTom.expect(30098, "Jack sees Tom back");
  again.sendMessage("after");
  assert.equal((await toTom.expect(30001)).body.msg, "after");
  assert.deepEqual((await history(server, tom, "Jack")).toSorted(), ["after", "before"]);
});

Deno.test("a seed client's frame with both msg and ack is refused whole: a 30004 frame, then the socket ends; nothing dropped unnoticed", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toJack.expect(30098);
  await toTom.expect(30098);
  toJack.socket.send('{"ack": 1, "msg": "x"}');
  assert.deepEqual(await toJack.next(), {
    status: 30004,
    msg: "Invalid message",
    body: { reason: "a frame carries msg or ack, not both" },
  });
  const close = await toJack.closed();
  assert.equal(close.code, 1008);
  assert.equal(close.reason, "Invalid message, not stored: a frame carries msg or ack, not both");
  assert.deepEqual(await history(server, tom, "Jack"), []);
});

/** Starts a POST whose body is cut short, then closes the connection. */
async function abortedUpload(server: TestServer): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const head = "POST /v1/user HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
    "content-length: 1000\r\n\r\n";
  await conn.write(new TextEncoder().encode(`${head}{"username":"To`));
  conn.close();
}

async function abortedCount(server: TestServer): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return Number(/^chat_http_bodies_aborted_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

Deno.test("aborted request bodies log at most one line per address per minute, and count in a metric", async () => {
  let now = Date.UTC(2026, 0, 1);
  const lines: string[] = [];
  await using server = await startTestServer({
    clock: () => now,
    log: createLogger((line) => lines.push(line)),
  });
  for (let i = 0; i < 5; i++) await abortedUpload(server);
  await waitForAsync(async () => (await abortedCount(server)) === 5, "five aborted bodies");
  const aborted = () => lines.filter((line) => / http\.body_aborted /.test(line));
  assert.equal(aborted().length, 1, lines.join("\n"));
  assert.match(
    aborted()[0],
    / warn http\.body_aborted method=POST path=\/v1\/user address=127\.0\.0\.1$/,
  );
  assert.equal(lines.filter((line) => / http\.error /.test(line)).length, 0, lines.join("\n"));
  now += 60_000;
  await abortedUpload(server);
  await waitForAsync(async () => (await abortedCount(server)) === 6, "the sixth aborted body");
  assert.equal(aborted().length, 2, "a minute later, one more line");
});
