/** The client's send queue: one frame in flight, order kept through 30005 pauses, spacing. */
import assert from "node:assert/strict";
import { SendError, SendQueue } from "../../lib/client/send_queue.ts";
import { ManualTimers } from "../support/manual_timers.ts";

/** A queue attached to a socket that records the ids it was given, in order. */
function setUp() {
  const timers = new ManualTimers();
  const queue = new SendQueue(timers, timers.now);
  const sent: string[] = [];
  queue.attach((id) => {
    sent.push(id);
    return true;
  });
  return { timers, queue, sent };
}

Deno.test("one frame is in flight at a time; the next goes when the previous is stored", async () => {
  const { queue, sent } = setUp();
  const first = queue.add("a", "one");
  queue.add("b", "two");
  queue.add("c", "three");
  assert.deepEqual(sent, ["a"]);
  assert.equal(queue.inFlight, "a");
  queue.stored("a", 1, "2026-01-01 00:00:00");
  assert.deepEqual(await first, { id: "a", messageId: 1, sendTime: "2026-01-01 00:00:00" });
  assert.deepEqual(sent, ["a", "b"]);
  queue.stored("b", 2, "t");
  queue.stored("c", 3, "t");
  assert.deepEqual(sent, ["a", "b", "c"]);
  assert.equal(queue.size, 0);
  assert.equal(queue.inFlight, null);
});

Deno.test("a pending id returns the same promise and is not queued twice", () => {
  const { queue, sent } = setUp();
  const first = queue.add("a", "one");
  assert.equal(queue.add("a", "one"), first);
  assert.equal(queue.size, 1);
  assert.deepEqual(sent, ["a"]);
});

Deno.test("after a 30005 the same message goes again after the pause, before anything later", () => {
  const { timers, queue, sent } = setUp();
  queue.add("a", "one");
  queue.add("b", "two");
  queue.stored("a", 1, "t");
  assert.equal(queue.rateLimited("b", 250), "b");
  assert.equal(queue.paused, true);
  // Messages added during the pause wait behind the rate-limited one.
  queue.add("c", "three");
  assert.deepEqual(sent, ["a", "b"]);
  assert.equal(timers.fire(), 250);
  assert.deepEqual(sent, ["a", "b", "b"]);
  // From now on frames are spaced by the pause: "c" waits for the spacing and for b's answer.
  queue.stored("b", 2, "t");
  assert.deepEqual(sent, ["a", "b", "b"]);
  assert.equal(timers.fire(), 250);
  assert.deepEqual(sent, ["a", "b", "b", "c"]);
});

Deno.test("a 30005 without an id names the frame in flight", () => {
  const { timers, queue, sent } = setUp();
  queue.add("a", "one");
  assert.equal(queue.rateLimited(null, 10), "a");
  assert.equal(queue.inFlight, null);
  timers.fire();
  assert.deepEqual(sent, ["a", "a"]);
});

Deno.test("after a 30005 frames are spaced by the service's pace: since the frame before, plus the wait", () => {
  const { timers, queue, sent } = setUp();
  queue.add("a", "one");
  queue.add("b", "two");
  queue.add("c", "three");
  // "a" goes at 0 and is stored at 5, so "b" goes at 5 and gets a 30005 with 15 ms to wait:
  // the service lets a frame through every 20 ms.
  timers.advance(5);
  queue.stored("a", 1, "t");
  assert.deepEqual(sent, ["a", "b"]);
  queue.rateLimited("b", 15);
  assert.equal(timers.fire(), 15);
  assert.deepEqual(sent, ["a", "b", "b"]);
  assert.deepEqual(timers.pending, [20]);
  queue.stored("b", 2, "t");
  assert.deepEqual(sent, ["a", "b", "b"]);
  assert.equal(timers.fire(), 20);
  assert.deepEqual(sent, ["a", "b", "b", "c"]);
});

Deno.test("spacing follows the longest pause asked for and ends when the queue is empty", () => {
  const { timers, queue, sent } = setUp();
  queue.add("a", "one");
  queue.rateLimited("a", 40);
  timers.fire();
  queue.rateLimited("a", 100);
  timers.fire();
  queue.rateLimited("a", 60);
  assert.equal(timers.fire(), 60);
  // Sent a fourth time, with the spacing now the longest pause seen: 100 ms.
  assert.deepEqual(timers.pending, [100]);
  queue.stored("a", 1, "t");
  timers.fire();
  assert.deepEqual(timers.pending, []);
  // Empty: the next message goes at once and sets no spacing.
  queue.add("b", "two");
  assert.deepEqual(sent, ["a", "a", "a", "a", "b"]);
  assert.deepEqual(timers.pending, []);
});

Deno.test("a nonsensical pause is replaced by one second; a huge one is capped", () => {
  const { timers, queue } = setUp();
  queue.add("a", "one");
  queue.rateLimited("a", Number.NaN);
  assert.deepEqual(timers.pending, [1000]);
  timers.fire();
  queue.rateLimited("a", -5);
  assert.deepEqual(timers.pending, [1000]);
  timers.fire();
  queue.rateLimited("a", 1e12);
  assert.deepEqual(timers.pending, [300_000]);
});

Deno.test("a new socket sends the frame that was in flight again, with no pause or spacing", () => {
  const { timers, queue, sent } = setUp();
  queue.add("a", "one");
  queue.add("b", "two");
  queue.rateLimited("a", 500);
  queue.detach();
  assert.deepEqual(timers.pending, []);
  queue.add("c", "three");
  assert.deepEqual(sent, ["a"]);
  const second: string[] = [];
  queue.attach((id) => {
    second.push(id);
    return true;
  });
  assert.deepEqual(second, ["a"]);
  queue.stored("a", 1, "t");
  queue.stored("b", 2, "t");
  assert.deepEqual(second, ["a", "b", "c"]);
  assert.deepEqual(timers.pending, []);
});

Deno.test("a socket that cannot take the frame leaves it first in line", () => {
  const timers = new ManualTimers();
  const queue = new SendQueue(timers, timers.now);
  queue.attach(() => false);
  queue.add("a", "one");
  assert.equal(queue.inFlight, null);
  const sent: string[] = [];
  queue.attach((id) => {
    sent.push(id);
    return true;
  });
  assert.deepEqual(sent, ["a"]);
});

Deno.test("a failure rejects the message in flight and the next one goes", async () => {
  const { queue, sent } = setUp();
  const bad = queue.add("a", "one");
  queue.add("b", "two");
  assert.equal(queue.failed(null, new SendError("msg is empty", 30004, false)), "a");
  await assert.rejects(bad, (e) => e instanceof SendError && e.status === 30004);
  assert.deepEqual(sent, ["a", "b"]);
  const alsoBad = queue.failed("b", new SendError("Message not stored", 30011, true));
  assert.equal(alsoBad, "b");
  assert.equal(queue.size, 0);
});

Deno.test("rejectAll rejects everything waiting and sends nothing more", async () => {
  const { timers, queue, sent } = setUp();
  const one = queue.add("a", "one");
  const two = queue.add("b", "two");
  queue.rateLimited("a", 100);
  queue.rejectAll(new SendError("The chat client is closed", null, true));
  await assert.rejects(one, /closed/);
  await assert.rejects(two, /closed/);
  assert.deepEqual(timers.pending, []);
  assert.equal(queue.size, 0);
  assert.deepEqual(sent, ["a"]);
});
