/** `decodeServerFrame`: every frame the server encodes reads back typed; anything else is null. */
import assert from "node:assert/strict";
import {
  chatMessageFrame,
  conversationUpdatedFrame,
  dailyQuotaFrame,
  decodeServerFrame,
  deliveredFrame,
  encodeFrame,
  invalidMessageFrame,
  notStoredFrame,
  peerLoginFrame,
  peerLogoutFrame,
  presenceFrame,
  rateLimitedFrame,
  readFrame,
  recalledFrame,
  sentFrame,
  storedFrame,
  targetNotFoundFrame,
  TOKEN_FAILED_FRAME,
  tooManyConnectionsFrame,
  typingFrame,
  waitingQuotaFrame,
} from "../../lib/protocol/server_frame.ts";
import { CHAT_STATUS } from "../../lib/protocol/status.ts";

const MESSAGE = {
  messageId: 17,
  fromUser: "张三",
  msg: '他说"你好"\\😀\n',
  sendTime: "2024-05-01 12:00:00",
};

/** Every frame the server sends, by an example of each, with what the client reads from it. */
const EXAMPLES = [
  [chatMessageFrame(MESSAGE), { status: 30001, msg: "OK", message: MESSAGE }],
  [TOKEN_FAILED_FRAME, { status: 30002, msg: "Token authentication failed" }],
  [targetNotFoundFrame("Tony"), { status: 30003, msg: "Target user Tony does not exist" }],
  [
    invalidMessageFrame("msg is empty"),
    { status: 30004, msg: "Invalid message", reason: "msg is empty" },
  ],
  [
    rateLimitedFrame(250, "c-1"),
    { status: 30005, msg: "Rate limit exceeded", retryAfterMs: 250, id: "c-1" },
  ],
  [tooManyConnectionsFrame(3), { status: 30006, msg: "Too many connections", limit: 3 }],
  [
    dailyQuotaFrame("bytes", 1024, 5000, "c-3"),
    { status: 30007, msg: "Daily quota exceeded", id: "c-3", limit: 1024, retryAfterMs: 5000 },
  ],
  [
    waitingQuotaFrame(50),
    { status: 30008, msg: "Too many messages waiting", id: null, limit: 50, retryAfterMs: null },
  ],
  [
    storedFrame("c-1", 12, "2024-05-01 12:00:00"),
    {
      status: 30010,
      msg: "Stored",
      stored: { id: "c-1", messageId: 12, sendTime: "2024-05-01 12:00:00" },
    },
  ],
  [notStoredFrame("c-2"), { status: 30011, msg: "Message not stored, try again", id: "c-2" }],
  [readFrame("Tom", 4), { status: 30012, msg: "Read", reader: "Tom", messageId: 4 }],
  [
    sentFrame({ msg: "hi", toUser: "Jack", sendTime: "2024-05-01 12:00:00", messageId: 5 }),
    {
      status: 30013,
      msg: "Sent",
      sent: { msg: "hi", toUser: "Jack", sendTime: "2024-05-01 12:00:00", messageId: 5 },
    },
  ],
  [typingFrame("Tom", true), { status: 30014, msg: "Typing", fromUser: "Tom", typing: true }],
  [
    recalledFrame(5, "Tom"),
    { status: 30015, msg: "Recalled", messageId: 5, fromUser: "Tom" },
  ],
  [deliveredFrame(5), { status: 30016, msg: "Delivered", messageId: 5 }],
  [
    conversationUpdatedFrame({ peer: "Jack", unread: 0, lastMessage: null }),
    {
      status: 30021,
      msg: "Conversation updated",
      conversation: { peer: "Jack", unread: 0, lastMessage: null },
    },
  ],
  [
    presenceFrame({ user: "Jack", online: true, lastSeen: null }),
    { status: 30022, msg: "Presence", presence: { user: "Jack", online: true, lastSeen: null } },
  ],
  [peerLoginFrame("Tom"), { status: 30098, msg: "Target user Tom login" }],
  [peerLogoutFrame("Tom"), { status: 30099, msg: "Target user Tom logout" }],
] as const;

Deno.test("every frame the server encodes decodes to its status, msg and typed body", () => {
  for (const [frame, expected] of EXAMPLES) assert.deepEqual(decodeServerFrame(frame), expected);
});

Deno.test("the examples cover every chat status", () => {
  const covered = EXAMPLES.map(([, expected]) => expected.status).sort();
  assert.deepEqual(covered, Object.values(CHAT_STATUS).sort());
});

Deno.test("optional fields read as null when absent", () => {
  assert.deepEqual(decodeServerFrame(rateLimitedFrame(100)), {
    status: 30005,
    msg: "Rate limit exceeded",
    retryAfterMs: 100,
    id: null,
  });
  assert.deepEqual(decodeServerFrame(notStoredFrame(null)), {
    status: 30011,
    msg: "Message not stored, try again",
    id: null,
  });
  assert.deepEqual(decodeServerFrame(encodeFrame(30006, "Too many connections", {})), {
    status: 30006,
    msg: "Too many connections",
    limit: null,
  });
});

Deno.test("a field of the wrong type reads as null, a 30004 without reason gives its msg", () => {
  assert.deepEqual(
    decodeServerFrame(encodeFrame(30005, "Slow down", { retry_after_ms: "soon", id: 7 })),
    { status: 30005, msg: "Slow down", retryAfterMs: null, id: null },
  );
  assert.deepEqual(decodeServerFrame(encodeFrame(30011, "Not stored", { id: 7 })), {
    status: 30011,
    msg: "Not stored",
    id: null,
  });
  assert.deepEqual(decodeServerFrame(encodeFrame(30004, "Invalid message", {})), {
    status: 30004,
    msg: "Invalid message",
    reason: "Invalid message",
  });
});

Deno.test("a frame without msg or body reads with an empty msg and an empty body", () => {
  assert.deepEqual(decodeServerFrame('{"status":30098}'), { status: 30098, msg: "" });
  assert.deepEqual(decodeServerFrame('{"status":30002,"msg":5,"body":null}'), {
    status: 30002,
    msg: "",
  });
});

Deno.test("a 30001 or 30010 without every field of its body is null", () => {
  const message = { msg: "hi", from_user: "Tom", send_time: "2024-05-01 12:00:00", message_id: 3 };
  assert.notEqual(decodeServerFrame(encodeFrame(30001, "OK", message)), null);
  for (const key of Object.keys(message)) {
    const missing = { ...message, [key]: undefined };
    assert.equal(decodeServerFrame(encodeFrame(30001, "OK", missing)), null, `without ${key}`);
  }
  assert.equal(decodeServerFrame(encodeFrame(30001, "OK", { ...message, message_id: "3" })), null);
  assert.equal(decodeServerFrame(encodeFrame(30001, "OK", { ...message, from_user: 1 })), null);
  assert.equal(decodeServerFrame('{"status":30001,"msg":"OK"}'), null);
  const stored = { id: "c-1", message_id: 12, send_time: "2024-05-01 12:00:00" };
  assert.notEqual(decodeServerFrame(encodeFrame(30010, "Stored", stored)), null);
  for (const key of Object.keys(stored)) {
    const missing = { ...stored, [key]: undefined };
    assert.equal(decodeServerFrame(encodeFrame(30010, "Stored", missing)), null, `without ${key}`);
  }
});

Deno.test("unknown keys in a body are ignored", () => {
  const frame = encodeFrame(30010, "Stored", {
    id: "c-1",
    message_id: 12,
    send_time: "2024-05-01 12:00:00",
    shard: "b",
  });
  assert.deepEqual(decodeServerFrame(frame), {
    status: 30010,
    msg: "Stored",
    stored: { id: "c-1", messageId: 12, sendTime: "2024-05-01 12:00:00" },
  });
});

Deno.test("a status this version does not know is null (a newer service's frame)", () => {
  for (const status of [30000, 30009, 30012, 30097, 39999, 10001, 1008]) {
    assert.equal(decodeServerFrame(encodeFrame(status, "New", { x: 1 })), null, `${status}`);
  }
  assert.equal(decodeServerFrame('{"status":"30001","msg":"OK","body":{}}'), null);
});

Deno.test("text that is not a frame object is null", () => {
  for (const text of ["", "not json", "null", "42", '"text"', "[30001]", '{"msg":"OK"}', "{"]) {
    assert.equal(decodeServerFrame(text), null, JSON.stringify(text));
  }
});
