/** The v2 side of the chat client on its own: read marker, typing, recalls, v2 frames. */
import assert from "node:assert/strict";
import { ChatEvents } from "../../lib/client/chat_events.ts";
import { MessageReceiver } from "../../lib/client/message_receiver.ts";
import { PairExtras, TYPING_REPEAT_MS } from "../../lib/client/pair_extras.ts";
import { SendError } from "../../lib/client/send_queue.ts";
import { decodeServerFrame } from "../../lib/protocol/server_frame.ts";
import type { V2ServerFrame } from "../../lib/protocol/server_frame.ts";
import { recalledFrame, sentFrame } from "../../lib/protocol/v2_server_frame.ts";

function setUp() {
  const sent: string[] = [];
  let open = true;
  let now = 1_000_000;
  const events = new ChatEvents();
  const handedOn: number[] = [];
  const receiver = new MessageReceiver((message) => handedOn.push(message.messageId));
  const extras = new PairExtras({
    send: (frame) => {
      if (open) sent.push(frame);
      return open;
    },
    events,
    receiver,
    now: () => now,
  });
  return {
    extras,
    events,
    receiver,
    sent,
    handedOn,
    setOpen: (value: boolean) => open = value,
    tick: (ms: number) => now += ms,
  };
}

function v2(text: string): V2ServerFrame {
  return decodeServerFrame(text) as V2ServerFrame;
}

Deno.test("the read marker only moves forward, and one set while down goes out on open", () => {
  const { extras, sent, setOpen } = setUp();
  extras.read(5);
  extras.read(3);
  extras.read(5);
  assert.deepEqual(sent, ['{"read":5}']);
  setOpen(false);
  extras.read(9);
  assert.deepEqual(sent, ['{"read":5}']);
  setOpen(true);
  extras.opened();
  assert.deepEqual(sent, ['{"read":5}', '{"read":9}']);
  // After a drop the marker may not have arrived: the next socket gets it again.
  extras.dropped(new SendError("dropped", null, true));
  extras.opened();
  assert.deepEqual(sent, ['{"read":5}', '{"read":9}', '{"read":9}']);
});

Deno.test("typing true goes out at most once per repeat interval; false only after a true", () => {
  const { extras, sent, tick } = setUp();
  extras.typing(false);
  extras.typing(true);
  extras.typing(true);
  tick(TYPING_REPEAT_MS - 1);
  extras.typing(true);
  tick(1);
  extras.typing(true);
  extras.typing(false);
  extras.typing(false);
  assert.deepEqual(sent, ['{"typing":true}', '{"typing":true}', '{"typing":false}']);
});

Deno.test("a recall resolves on the 30015 naming it and rejects on a refusal or a drop", async () => {
  const { extras, events, setOpen } = setUp();
  const recalled: number[] = [];
  events.on("recalled", (event) => recalled.push(event.messageId));
  const first = extras.recall(7);
  assert.equal(extras.recall(7), first);
  extras.received(v2(recalledFrame(7, "Tom")));
  await first;
  assert.deepEqual(recalled, [7]);

  const refused = extras.recall(8);
  extras.refused("recall", 8, "message 8 cannot be recalled");
  await assert.rejects(refused, (e) => e instanceof SendError && !e.retryable);

  const dropped = extras.recall(9);
  extras.dropped(new SendError("The chat socket dropped", null, true));
  await assert.rejects(dropped, (e) => e instanceof SendError && e.retryable);

  setOpen(false);
  await assert.rejects(extras.recall(10), (e) => e instanceof SendError && e.retryable);
});

Deno.test("a message I sent elsewhere is a sent event, and never a message from history", () => {
  const { extras, events, receiver, handedOn } = setUp();
  const sent: number[] = [];
  events.on("sent", (event) => sent.push(event.messageId));
  extras.received(
    v2(sentFrame({ msg: "hi", toUser: "Jack", sendTime: "2026-12-01 10:00:00", messageId: 4 })),
  );
  assert.deepEqual(sent, [4]);
  receiver.accept({ messageId: 4, fromUser: "Tom", msg: "hi", sendTime: "2026-12-01 10:00:00" });
  assert.deepEqual(handedOn, []);
});
