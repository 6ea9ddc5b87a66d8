/**
 * A client that sends tiny bad frames and never reads: every answer the server writes (30004
 * here) counts against `MAX_BUFFERED_BYTES`, so the socket is closed with 1013 instead of the
 * server holding an ever-growing queue of answers.
 */
import assert from "node:assert/strict";
import { registerAndLogin, startTestServer } from "../support/server.ts";
import { connectChat, encodeFrame, OPCODE } from "../support/raw_ws.ts";
import { waitForAsync } from "../support/wait.ts";

/** How long the client may flood before the server must have closed it. */
const FLOOD_LIMIT_MS = 20_000;
/** Bad frames written per batch. */
const BATCH = 2000;

async function slowReceiverClosings(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = /^chat_connections_refused_total\{reason="slow_receiver"\} (\d+)$/m.exec(text);
  return line === null ? 0 : Number(line[1]);
}

Deno.test("answers to a client that never reads count against the send buffer: closed with 1013", async () => {
  await using server = await startTestServer({ env: { MAX_BUFFERED_BYTES: "16384" } });
  const tom = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jack");
  await using flooder = await connectChat(server.wsUrl, "Jack", tom);
  assert.equal(flooder.status, 101, flooder.body);
  // An empty message with an id: a 30004 answer each, and the socket stays open.
  const bad = encodeFrame(OPCODE.TEXT, new TextEncoder().encode('{"id":"x","msg":""}'));
  const batch = new Uint8Array(bad.byteLength * BATCH);
  for (let i = 0; i < BATCH; i++) batch.set(bad, i * bad.byteLength);
  const deadline = Date.now() + FLOOD_LIMIT_MS;
  let batches = 0;
  while ((await slowReceiverClosings(server.baseUrl)) === 0) {
    assert.ok(Date.now() < deadline, `still open after ${batches * BATCH} bad frames`);
    try {
      await flooder.sendRaw(batch);
    } catch {
      break; // The server dropped the connection: the metric tells why.
    }
    batches++;
  }
  await waitForAsync(async () => (await slowReceiverClosings(server.baseUrl)) === 1, "the 1013");
  const frames = await flooder.readUntilClosed(10_000);
  assert.ok(frames.length > 0);
  assert.ok(
    flooder.closeCode === 1013 || flooder.eof,
    `the socket ends (close ${flooder.closeCode})`,
  );
  const health = await fetch(`${server.baseUrl}/healthz`);
  await health.body?.cancel();
  assert.equal(health.status, 200);
});
