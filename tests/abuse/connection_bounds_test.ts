/**
 * What one connection can hold: a socket the server closed is dropped when its client does not
 * answer the close (`WS_CLOSE_TIMEOUT`), also while it streams the fragments of an endless
 * message; above `MEMORY_LIMIT` an open socket gathering such a message is dropped while a
 * chatting one stays; a request body that does not arrive gets 408 `10018` (`HTTP_BODY_TIMEOUT`).
 */
import assert from "node:assert/strict";
import { registerAndLogin, startTestServer } from "../support/server.ts";
import { connectChat, encodeFrame, OPCODE, type RawWebSocket } from "../support/raw_ws.ts";
import { ChatClient } from "../support/ws_client.ts";
import { withTimeout } from "../support/wait.ts";

/** Fragments of 64 KiB, each a continuation of a message that never ends. */
const FRAGMENT = encodeFrame(OPCODE.CONTINUATION, new Uint8Array(64 * 1024), { fin: false });
/** The most a test sends into one socket: enough to see it is not dropped on main. */
const FLOOD_CAP_BYTES = 48 * 1024 * 1024;

/**
 * Starts a message and sends its fragments until the server drops the connection or
 * `FLOOD_CAP_BYTES` went out; resolves with the bytes sent and whether it was dropped.
 */
async function floodFragments(socket: RawWebSocket): Promise<{ sent: number; dropped: boolean }> {
  let sent = 0;
  try {
    await socket.sendFrame(OPCODE.TEXT, new TextEncoder().encode('{"msg":"'), { fin: false });
    while (sent < FLOOD_CAP_BYTES) {
      await socket.sendRaw(FRAGMENT);
      sent += FRAGMENT.byteLength;
      // Paced a little, so the server's timers run between writes on two shared cores.
      if (sent % (1024 * 1024) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } catch {
    return { sent, dropped: true };
  }
  return { sent, dropped: false };
}

/** Whether the server ends the TCP stream within `timeoutMs` (frames before it are skipped). */
async function streamEnds(socket: RawWebSocket, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  try {
    while (performance.now() < deadline) {
      if (await socket.nextFrame(Math.max(1, deadline - performance.now())) === null) return true;
    }
  } catch {
    return socket.eof;
  }
  return false;
}

/** Waits for the 30010 of the message just sent, past presence frames. */
async function stored(client: ChatClient, what: string): Promise<void> {
  for (;;) {
    const frame = await client.next(`the 30010 of ${what}`);
    if (frame.status === 30010) return;
  }
}

async function healthy(baseUrl: string): Promise<boolean> {
  const response = await fetch(`${baseUrl}/healthz`);
  await response.body?.cancel();
  return response.status === 200;
}

Deno.test("a refused socket whose client never answers the close is dropped after WS_CLOSE_TIMEOUT", async () => {
  await using server = await startTestServer({ env: { WS_CLOSE_TIMEOUT: "300ms" } });
  await registerAndLogin(server, "Jack");
  await using socket = await connectChat(server.wsUrl, "Jack", "not-a-token");
  assert.equal(socket.status, 101, socket.body);
  assert.equal((await socket.nextJson()).status, 30002);
  const started = performance.now();
  // The close frame comes; the client never answers it.
  assert.ok(await streamEnds(socket, 5000), "the connection is dropped");
  assert.ok(socket.eof);
  assert.ok(performance.now() - started < 3000, `dropped after ${performance.now() - started} ms`);
});

Deno.test("a refused socket streaming an endless fragmented message is dropped, and the service stays up", async () => {
  await using server = await startTestServer({ env: { WS_CLOSE_TIMEOUT: "300ms" } });
  await registerAndLogin(server, "Jack");
  await using socket = await connectChat(server.wsUrl, "Jack", "not-a-token");
  assert.equal(socket.status, 101, socket.body);
  const { sent, dropped } = await floodFragments(socket);
  assert.ok(dropped || await streamEnds(socket, 5000), `not dropped after ${sent} bytes`);
  assert.ok(await healthy(server.baseUrl));
});

Deno.test("above MEMORY_LIMIT a socket gathering an endless message is dropped; a chatting one stays", async () => {
  // A limit any process is above: the guard acts on every sample.
  await using server = await startTestServer({ env: { MEMORY_LIMIT: "1" } });
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using flooder = await connectChat(server.wsUrl, "Jack", tom);
  assert.equal(flooder.status, 101, flooder.body);
  await using chatting = await ChatClient.connect(server.wsUrl, "Tom", jack);
  let talking = true;
  const talk = (async () => {
    // A message every 200 ms keeps this socket heard from.
    for (let i = 0; talking; i++) {
      chatting.sendMessage(`still here ${i}`, `id-${i}`);
      await stored(chatting, `message ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const { sent, dropped } = await floodFragments(flooder);
  const ended = dropped || await streamEnds(flooder, 5000);
  talking = false;
  await talk;
  assert.ok(ended, `not dropped after ${sent} bytes`);
  chatting.sendMessage("after the flood", "id-last");
  await stored(chatting, "the message after the flood");
  await chatting.close();
});

Deno.test("a request body that does not arrive within HTTP_BODY_TIMEOUT gets 408 10018", async () => {
  await using server = await startTestServer({ env: { HTTP_BODY_TIMEOUT: "300ms" } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const head = "POST /v1/user HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n" +
      "content-length: 100\r\n\r\n";
    await conn.write(new TextEncoder().encode(head + '{"username":'));
    const started = performance.now();
    const answer = new Uint8Array(4096);
    const count = await withTimeout(conn.read(answer), "the 408", 5000);
    assert.ok(count !== null, "an answer came");
    const text = new TextDecoder().decode(answer.subarray(0, count));
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.match(text, /"status":10018/);
    assert.ok(performance.now() - started < 3000);
  } finally {
    conn.close();
  }
});
