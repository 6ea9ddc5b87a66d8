/** The chat.v2 client frames: read, typing, recall; decoded only on a v2 socket. */
import assert from "node:assert/strict";
import {
  decodeClientFrame,
  encodeReadFrame,
  encodeRecallFrame,
  encodeTypingFrame,
} from "../../lib/protocol/client_frame.ts";

Deno.test("the v2 encoders write the issue's frames", () => {
  assert.equal(encodeReadFrame(12), '{"read":12}');
  assert.equal(encodeTypingFrame(true), '{"typing":true}');
  assert.equal(encodeTypingFrame(false), '{"typing":false}');
  assert.equal(encodeRecallFrame(5), '{"recall":5}');
});

Deno.test("on a v2 socket the control frames decode to what they say", () => {
  assert.deepEqual(decodeClientFrame(encodeReadFrame(12), 100, true), {
    ok: true,
    kind: "read",
    messageId: 12,
    id: null,
  });
  assert.deepEqual(decodeClientFrame(encodeTypingFrame(true), 100, true), {
    ok: true,
    kind: "typing",
    typing: true,
  });
  assert.deepEqual(decodeClientFrame('{"recall":5,"id":"r-1"}', 100, true), {
    ok: true,
    kind: "recall",
    messageId: 5,
    id: "r-1",
  });
});

Deno.test("on a seed socket the control keys mean nothing: the frame has no msg, as today", () => {
  for (const frame of ['{"read":12}', '{"typing":true}', '{"recall":5}']) {
    const decoded = decodeClientFrame(frame, 100);
    assert.equal(decoded.ok, false, frame);
    assert.equal(!decoded.ok && decoded.code, "msg_missing");
  }
  // And a message with such a key is still a message.
  assert.deepEqual(decodeClientFrame('{"msg":"hi","typing":true}', 100), {
    ok: true,
    kind: "message",
    message: { msg: "hi", id: null },
  });
});

Deno.test("a v2 control frame of the wrong type, or mixed with msg, is refused", () => {
  const cases: [string, string][] = [
    ['{"read":0}', "read_type"],
    ['{"read":"12"}', "read_type"],
    ['{"read":1.5}', "read_type"],
    ['{"typing":"yes"}', "typing_type"],
    ['{"recall":-1}', "recall_type"],
    ['{"read":1,"msg":"hi"}', "mixed_kinds"],
    ['{"read":1,"typing":true}', "mixed_kinds"],
  ];
  for (const [frame, code] of cases) {
    const decoded = decodeClientFrame(frame, 100, true);
    assert.equal(decoded.ok, false, frame);
    assert.equal(!decoded.ok && decoded.code, code, frame);
  }
  const named = decodeClientFrame('{"read":"x","id":"r-2"}', 100, true);
  assert.equal(!named.ok && named.id, "r-2");
  // A receipt stays a receipt on a v2 socket, and a message a message.
  assert.deepEqual(decodeClientFrame('{"ack":3}', 100, true), { ok: true, kind: "ack", upTo: 3 });
  assert.equal(decodeClientFrame('{"msg":"hi"}', 100, true).ok, true);
});
