/**
 * A receiver that stops reading: its socket's send buffer is bounded, so the server closes it
 * with 1013 instead of holding an ever-growing queue, and no acknowledged message is dropped.
 */
import assert from "node:assert/strict";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient, type Frame } from "../support/ws_client.ts";
import { connectChat, OPCODE, type RawFrame } from "../support/raw_ws.ts";

/** The send buffer bound of the receiver's socket. */
const MAX_BUFFERED_BYTES = 65536;
/** 3000 characters of 3 bytes each in UTF-8: about 9 KB per frame. */
const LARGE_MESSAGE = "慢".repeat(3000);
/** Messages the sender may have sent without their 30010 yet. */
const WINDOW = 8;
/** How long the sender may flood before the server must have closed the stalled receiver. */
const FLOOD_LIMIT_MS = 15_000;

async function slowReceiverClosings(server: TestServer): Promise<number> {
  const response = await fetch(`${server.baseUrl}/metrics`);
  const text = await response.text();
  const line = /^chat_connections_refused_total\{reason="slow_receiver"\} (\d+)$/m.exec(text);
  return line === null ? 0 : Number(line[1]);
}

/** Calls `read` every 20 ms until `done` holds for its value, for up to 5 s; returns the value. */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() >= deadline) throw new Error(`Timed out polling; last value ${value}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The chat messages among raw frames, as `message_id`s in the order they came. */
function messageIds(frames: readonly RawFrame[]): number[] {
  const decoder = new TextDecoder();
  return frames
    .filter((frame) => frame.opcode === OPCODE.TEXT)
    .map((frame) => JSON.parse(decoder.decode(frame.payload)) as Frame)
    .filter((frame) => frame.status === 30001)
    .map((frame) => frame.body.message_id as number);
}

/** What a stalled receiver and its return saw. */
interface Outcome {
  /** Every message the sender got a 30010 for. */
  readonly acked: readonly number[];
  /** Messages read off the stalled socket, after it was closed, in order. */
  readonly firstIds: readonly number[];
  /** Messages the receiver's next socket got until every acknowledged one was seen. */
  readonly secondIds: readonly number[];
}

/**
 * Tom floods Jack with large messages while Jack's raw socket reads nothing, until the server
 * closes it (Tom gets 30099); then Jack's socket reads what is still in flight, and Jack comes
 * back on a new socket until every acknowledged message has been seen on one of the two.
 */
async function stallAndReturn(server: TestServer): Promise<Outcome> {
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  assert.equal(await slowReceiverClosings(server), 0);

  const sender = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using stalled = await connectChat(server.wsUrl, "Tom", jack);
  const acked: number[] = [];
  try {
    assert.equal(stalled.status, 101, stalled.body);
    await sender.expect(30098, "Jack's login");
    // From here on the stalled receiver reads nothing: the server's buffers fill up.
    const deadline = Date.now() + FLOOD_LIMIT_MS;
    let sent = 0;
    let receiverGone = false;
    while (!receiverGone || acked.length < sent) {
      while (!receiverGone && sent - acked.length < WINDOW) {
        sender.sendMessage(LARGE_MESSAGE, `large-${sent}`);
        sent++;
      }
      const frame = await sender.next(`the answer to message ${acked.length}`);
      if (frame.status === 30099) {
        receiverGone = true;
        continue;
      }
      assert.equal(frame.status, 30010, JSON.stringify(frame));
      assert.equal(frame.body.id, `large-${acked.length}`);
      acked.push(frame.body.message_id as number);
      assert.ok(Date.now() < deadline, `still not closed after ${acked.length} messages`);
    }
  } finally {
    await sender.close();
  }

  // The closing is counted where operators see it.
  assert.equal(await pollUntil(() => slowReceiverClosings(server), (n) => n >= 1), 1);

  // What was already in flight still arrives, then the close frame with 1013.
  const frames = await stalled.readUntilClosed(10_000);
  assert.equal(stalled.closeCode, 1013, "the stalled receiver's close code");
  const firstIds = messageIds(frames);
  await stalled.closeGracefully();

  // The same user comes back on a normal socket.
  await using again = await ChatClient.connect(server.wsUrl, "Tom", jack);
  const seen = new Set(firstIds);
  const secondIds: number[] = [];
  while (!acked.every((id) => seen.has(id))) {
    const frame = await again.next("a waiting message on the new socket");
    if (frame.status !== 30001) continue;
    const id = frame.body.message_id as number;
    secondIds.push(id);
    seen.add(id);
  }
  // The server stayed up.
  const health = await fetch(`${server.baseUrl}/healthz`);
  await health.body?.cancel();
  assert.equal(health.status, 200);
  return { acked, firstIds, secondIds };
}

function assertIncreasing(ids: readonly number[], label: string): void {
  for (let i = 1; i < ids.length; i++) {
    assert.ok(ids[i] > ids[i - 1], `${label} out of order: ${ids.join(", ")}`);
  }
}

function startServer(): Promise<TestServer> {
  return startTestServer({
    env: {
      MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
      MSG_RATE: "100000",
      MSG_BURST: "100000",
    },
  });
}

Deno.test("a receiver that stops reading is closed with 1013 and loses no acknowledged message", async () => {
  await using server = await startServer();
  const { acked, firstIds, secondIds } = await stallAndReturn(server);
  assert.ok(firstIds.length > 0, "nothing reached the stalled receiver before it was closed");
  assert.ok(firstIds.length < acked.length, "the receiver was closed only after everything");
  assert.ok(secondIds.length > 0, "nothing was left waiting for the new socket");
  assertIncreasing(firstIds, "the stalled socket");
  assertIncreasing(secondIds, "the new socket");
});

Deno.test("messages still queued when a slow receiver is closed wait for its next socket", async () => {
  await using server = await startServer();
  const { firstIds, secondIds } = await stallAndReturn(server);
  // The server closed the socket when more than MAX_BUFFERED_BYTES were queued in it, not yet
  // handed to the network: at least that many bytes of messages must count as undelivered.
  // They may still have reached the old socket (its queue drains before the close frame), so
  // they come again on the new one.
  const frameBytes = new TextEncoder().encode(LARGE_MESSAGE).byteLength;
  const queuedAtLeast = Math.floor(MAX_BUFFERED_BYTES / frameBytes);
  const second = new Set(secondIds);
  const again = firstIds.filter((id) => second.has(id));
  assert.ok(
    again.length >= queuedAtLeast,
    `only ${again.length} of the messages queued at the close came again; expected at least ` +
      `${queuedAtLeast}: queued messages were marked delivered`,
  );
});
