/** `Outbound`: held traffic, order, flow control and delivery confirmation, on a fake socket. */
import assert from "node:assert/strict";
import { Outbound, WAITING_PAGE_SIZE } from "../../lib/chat/outbound.ts";
import type { DeliveryMarker } from "../../lib/chat/delivery_marker.ts";
import type { ChatSocket } from "../../lib/chat/socket.ts";
import { chatMessageFrame } from "../../lib/protocol/server_frame.ts";
import { Metrics } from "../../lib/metrics.ts";
import type { StoredMessage } from "../../lib/storage/repository.ts";
import { waitFor } from "../support/wait.ts";

class FakeSocket implements ChatSocket {
  readonly sent: string[] = [];
  bufferedAmount = 0;
  send(frame: string) {
    this.sent.push(frame);
  }
  close() {}
}

function message(id: number): StoredMessage {
  return { messageId: id, fromUser: "Jack", toUser: "Tom", msg: `m${id}`, sendTime: "t" };
}

function outbound(options: { receipts?: boolean; maxUnacked?: number } = {}) {
  const socket = new FakeSocket();
  const marked: number[] = [];
  const slow: string[] = [];
  const deliveries = { mark: (ids: readonly number[]) => marked.push(...ids) };
  const out = new Outbound({
    socket,
    receipts: options.receipts ?? false,
    limits: { maxBufferedBytes: 1000, maxUnacked: options.maxUnacked ?? 10 },
    deliveries: deliveries as unknown as DeliveryMarker,
    metrics: new Metrics(),
    onTooSlow: (cause) => slow.push(cause),
  });
  const deliver = (id: number) => out.deliver(message(id), chatMessageFrame(message(id)));
  return { socket, out, marked, slow, deliver };
}

const texts = (socket: FakeSocket) =>
  socket.sent.map((frame) => frame.startsWith("{") ? JSON.parse(frame).body.msg : frame);

Deno.test("until released, frames and live messages are held, then sent in the order they came", () => {
  const { socket, out, deliver } = outbound();
  out.send("presence");
  deliver(5);
  out.sendNow("own 30098");
  assert.deepEqual(socket.sent, ["own 30098"]);
  out.releaseHeld();
  assert.deepEqual(texts(socket), ["own 30098", "presence", "m5"]);
});

Deno.test("a socket ending while held sends its held answers in order, and no held message", () => {
  const { socket, out, deliver, marked } = outbound();
  out.send("answer 1");
  deliver(5);
  out.send("answer 2");
  out.flushHeldFrames();
  assert.deepEqual(socket.sent, ["answer 1", "answer 2"]);
  out.close(true);
  // The held message was never written: it stays waiting for the next socket.
  assert.deepEqual(marked, []);
});

Deno.test("a message id at or below the last one sent is not sent again", () => {
  const { socket, out, deliver } = outbound();
  out.releaseHeld();
  deliver(3);
  deliver(3);
  deliver(2);
  deliver(4);
  assert.deepEqual(texts(socket), ["m3", "m4"]);
  assert.equal(out.lastSentId, 4);
});

Deno.test("without receipts, a message written to an empty buffer is delivered at once", () => {
  const { out, marked, deliver } = outbound();
  out.releaseHeld();
  deliver(1);
  assert.deepEqual(marked, [1]);
});

Deno.test("a message queued behind others is delivered once the buffer drains", async () => {
  const { socket, out, marked, deliver } = outbound();
  out.releaseHeld();
  socket.bufferedAmount = 100;
  deliver(1);
  assert.deepEqual(marked, []);
  socket.bufferedAmount = 0;
  await waitFor(() => marked.length === 1, "the drain check");
  assert.deepEqual(marked, [1]);
});

Deno.test("over the byte buffer the receiver is too slow, and the message is not sent", () => {
  const { socket, out, slow, deliver } = outbound();
  out.releaseHeld();
  socket.bufferedAmount = 1001;
  deliver(1);
  assert.deepEqual(slow, ["buffer"]);
  assert.deepEqual(socket.sent, []);
});

Deno.test("in receipt mode only acknowledged messages are delivered, within the window", () => {
  const { out, marked, slow, deliver } = outbound({ receipts: true, maxUnacked: 2 });
  out.releaseHeld();
  deliver(1);
  deliver(2);
  assert.deepEqual(marked, []);
  deliver(3);
  assert.deepEqual(slow, ["unacknowledged"]);
  out.confirmUpTo(1);
  assert.deepEqual(marked, [1]);
  assert.equal(out.unconfirmedCount, 1);
});

Deno.test("held traffic past the window plus a page closes the receiver as too slow", () => {
  const { slow, deliver } = outbound({ maxUnacked: 1 });
  for (let id = 1; id <= 1 + WAITING_PAGE_SIZE; id++) deliver(id);
  assert.deepEqual(slow, []);
  deliver(2 + WAITING_PAGE_SIZE);
  assert.deepEqual(slow, ["held"]);
});

Deno.test("a close confirms what was handed over, and keeps the rest waiting", () => {
  const handed = outbound();
  handed.out.releaseHeld();
  handed.socket.bufferedAmount = 10;
  handed.deliver(1);
  handed.out.close(true);
  assert.deepEqual(handed.marked, [1]);

  const stuck = outbound();
  stuck.out.releaseHeld();
  stuck.socket.bufferedAmount = 10;
  stuck.deliver(1);
  stuck.out.close(false);
  assert.deepEqual(stuck.marked, []);
  stuck.deliver(2);
  assert.equal(stuck.socket.sent.length, 1);
});

Deno.test("waiting messages pause at half the buffer and go on once it drains", async () => {
  const { socket, out } = outbound();
  socket.bufferedAmount = 600;
  const written = out.writeWaiting([message(1), message(2)], chatMessageFrame);
  assert.deepEqual(socket.sent, []);
  socket.bufferedAmount = 0;
  assert.equal(await written, true);
  assert.deepEqual(texts(socket), ["m1", "m2"]);
});

Deno.test("waiting messages stop when the socket closes meanwhile", async () => {
  const { socket, out } = outbound();
  socket.bufferedAmount = 600;
  const written = out.writeWaiting([message(1)], chatMessageFrame);
  out.close(false);
  assert.equal(await written, false);
  assert.deepEqual(socket.sent, []);
});

Deno.test("an answer or presence frame over the byte buffer closes the socket as too slow", () => {
  const { socket, out, slow } = outbound();
  out.releaseHeld();
  out.send("30004 one");
  socket.bufferedAmount = 1001;
  out.send("30004 two");
  out.sendNow("30098");
  assert.deepEqual(socket.sent, ["30004 one"]);
  assert.deepEqual(slow, ["buffer", "buffer"]);
});

Deno.test("held control frames are bounded like held messages", () => {
  const { out, slow } = outbound({ maxUnacked: 2 });
  for (let i = 0; i < 2 + WAITING_PAGE_SIZE; i++) out.send(`presence ${i}`);
  assert.deepEqual(slow, []);
  out.send("one too many");
  assert.deepEqual(slow, ["held"]);
});

Deno.test("held control frames released onto a full buffer close the socket as too slow", () => {
  const { socket, out, slow } = outbound();
  out.send("presence");
  socket.bufferedAmount = 5000;
  out.releaseHeld();
  assert.deepEqual(socket.sent, []);
  assert.deepEqual(slow, ["buffer"]);
});
