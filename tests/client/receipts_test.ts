/** Delivery receipts: one cumulative `{"ack"}` per turn, nothing repeated, a new count per socket. */
import assert from "node:assert/strict";
import { Receipts } from "../../lib/client/receipts.ts";
import { ManualTimers } from "../support/manual_timers.ts";

/** Receipts whose frames are recorded; `open` says whether the socket takes them. */
function setUp() {
  const timers = new ManualTimers();
  const sent: string[] = [];
  const socket = { open: true };
  const receipts = new Receipts(timers, (frame) => {
    if (!socket.open) return false;
    sent.push(frame);
    return true;
  });
  return { timers, sent, socket, receipts };
}

Deno.test("the messages of one turn are acknowledged by one frame naming the highest id", () => {
  const { timers, sent, receipts } = setUp();
  receipts.acknowledge(3);
  receipts.acknowledge(5);
  receipts.acknowledge(4);
  assert.deepEqual(sent, [], "nothing is sent before the turn ends");
  assert.deepEqual(timers.pending, [0]);
  timers.fire();
  assert.deepEqual(sent, ['{"ack":5}']);
});

Deno.test("a message at or below what was acknowledged sends nothing more", () => {
  const { timers, sent, receipts } = setUp();
  receipts.acknowledge(5);
  timers.fire();
  receipts.acknowledge(5);
  receipts.acknowledge(2);
  timers.fire();
  assert.deepEqual(sent, ['{"ack":5}']);
  receipts.acknowledge(6);
  timers.fire();
  assert.deepEqual(sent, ['{"ack":5}', '{"ack":6}']);
});

Deno.test("a receipt the socket could not take is sent with the next one", () => {
  const { timers, sent, socket, receipts } = setUp();
  socket.open = false;
  receipts.acknowledge(7);
  timers.fire();
  assert.deepEqual(sent, []);
  socket.open = true;
  receipts.acknowledge(7);
  timers.fire();
  assert.deepEqual(sent, ['{"ack":7}']);
});

Deno.test("reset drops the pending receipt, and a new socket counts from zero", () => {
  const { timers, sent, receipts } = setUp();
  receipts.acknowledge(9);
  timers.fire();
  receipts.acknowledge(12);
  receipts.reset();
  assert.deepEqual(timers.pending, [], "the pending receipt is dropped");
  // A new socket acknowledges what it brings, even below what the old one acknowledged.
  receipts.acknowledge(4);
  timers.fire();
  assert.deepEqual(sent, ['{"ack":9}', '{"ack":4}']);
});
