/** The client's frame encoders: the wire form, and what the server's decoder reads back from it. */
import assert from "node:assert/strict";
import {
  decodeClientFrame,
  encodeAckFrame,
  encodeMessageFrame,
} from "../../lib/protocol/client_frame.ts";

Deno.test("a message frame is {msg}, or {msg, id} in that order when there is an id", () => {
  assert.equal(encodeMessageFrame("hi"), '{"msg":"hi"}');
  assert.equal(encodeMessageFrame("hi", null), '{"msg":"hi"}');
  assert.equal(encodeMessageFrame("hi", "c-1"), '{"msg":"hi","id":"c-1"}');
});

Deno.test("a message frame reads back as sent: quotes, backslashes, new lines, Chinese, emoji", () => {
  const msg = '他说"你好"\\😀\n  ';
  const frame = encodeMessageFrame(msg, 'c-"1"');
  assert.deepEqual(decodeClientFrame(frame, 100), {
    ok: true,
    kind: "message",
    message: { msg, id: 'c-"1"' },
  });
  assert.deepEqual(decodeClientFrame(encodeMessageFrame(msg), 100), {
    ok: true,
    kind: "message",
    message: { msg, id: null },
  });
});

Deno.test("a receipt is {ack} and reads back as the id it acknowledges up to", () => {
  assert.equal(encodeAckFrame(42), '{"ack":42}');
  assert.deepEqual(decodeClientFrame(encodeAckFrame(42), 100), { ok: true, kind: "ack", upTo: 42 });
});
