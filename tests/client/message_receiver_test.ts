/** The receiving side of the chat client: each message_id once, in order, echoes of a note to self. */
import assert from "node:assert/strict";
import { MessageReceiver } from "../../lib/client/message_receiver.ts";
import type { ChatMessageView } from "../../lib/protocol/server_frame.ts";

function message(messageId: number, msg = `m${messageId}`): ChatMessageView {
  return { messageId, fromUser: "Tom", msg, sendTime: "2024-05-01 12:00:00" };
}

/** A receiver and the message_ids it handed on, in order. */
function setUp() {
  const handed: number[] = [];
  const receiver = new MessageReceiver((m) => handed.push(m.messageId));
  return { receiver, handed };
}

Deno.test("a message_id is handed on once, whether repeated or marked seen", () => {
  const { receiver, handed } = setUp();
  receiver.markSeen([2]);
  receiver.arrived(message(1), null);
  receiver.arrived(message(1), null);
  receiver.arrived(message(2), null);
  receiver.accept(message(3));
  receiver.accept(message(1));
  assert.deepEqual(handed, [1, 3]);
});

Deno.test("caughtUpTo follows what was handed on or marked seen, not my own stored messages", () => {
  const { receiver } = setUp();
  assert.equal(receiver.caughtUpTo, 0);
  receiver.accept(message(4));
  receiver.markSeen([2, 9]);
  assert.equal(receiver.caughtUpTo, 9);
  receiver.stored(20);
  assert.equal(receiver.caughtUpTo, 9);
});

Deno.test("held messages are handed on when released, in message_id order", () => {
  const { receiver, handed } = setUp();
  receiver.hold();
  assert.equal(receiver.holding, true);
  receiver.arrived(message(8), null);
  receiver.accept(message(5));
  receiver.accept(message(6));
  assert.deepEqual(handed, []);
  receiver.releaseHeld();
  assert.equal(receiver.holding, false);
  assert.deepEqual(handed, [5, 6, 8]);
  receiver.accept(message(9));
  assert.deepEqual(handed, [5, 6, 8, 9]);
});

Deno.test("an echo of my frame in flight is dropped once its 30010 names it", () => {
  const { receiver, handed } = setUp();
  receiver.arrived(message(10, "note"), "note");
  // Everything after a possible echo waits with it, so that order is kept.
  receiver.arrived(message(11, "other"), "note");
  assert.deepEqual(handed, []);
  receiver.stored(10);
  assert.deepEqual(handed, [11]);
});

Deno.test("a message with the in-flight text from my other socket goes on when the answer names another id", () => {
  const { receiver, handed } = setUp();
  receiver.arrived(message(10, "note"), "note");
  receiver.stored(12);
  assert.deepEqual(handed, [10]);
});

Deno.test("an answer without a message_id releases the waiting messages", () => {
  const { receiver, handed } = setUp();
  receiver.arrived(message(10, "note"), "note");
  receiver.releaseEchoes();
  assert.deepEqual(handed, [10]);
  receiver.arrived(message(11, "other"), "note");
  assert.deepEqual(handed, [10, 11]);
});
