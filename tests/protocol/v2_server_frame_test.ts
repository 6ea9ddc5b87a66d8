/** The chat.v2 server frames: exact wire form (status, msg, body order) and the client's reading. */
import assert from "node:assert/strict";
import {
  conversationUpdatedFrame,
  decodeServerFrame,
  deliveredFrame,
  encodeFrame,
  invalidMessageFrame,
  presenceFrame,
  readFrame,
  recalledFrame,
  refusedControlFrame,
  sentFrame,
  typingFrame,
} from "../../lib/protocol/server_frame.ts";
import { API_STATUS, CHAT_STATUS, isApiStatus, isChatStatus } from "../../lib/protocol/status.ts";
import { CHAT_SUBPROTOCOL_V2, offersChatV2 } from "../../lib/protocol/subprotocol.ts";

const LAST = {
  messageId: 9,
  fromUser: "Jack",
  toUser: "Tom",
  msg: "你好 Jack，在吗?",
  sendTime: "2026-12-01 10:00:00",
};

Deno.test("issue 12's statuses have their reserved numbers and pass the guards", () => {
  assert.equal(CHAT_STATUS.READ, 30012);
  assert.equal(CHAT_STATUS.SENT, 30013);
  assert.equal(CHAT_STATUS.TYPING, 30014);
  assert.equal(CHAT_STATUS.RECALLED, 30015);
  assert.equal(CHAT_STATUS.DELIVERED, 30016);
  assert.equal(CHAT_STATUS.CONVERSATION_UPDATED, 30021);
  assert.equal(CHAT_STATUS.PRESENCE, 30022);
  assert.equal(API_STATUS.RECALL_REFUSED, 10012);
  for (const status of [30012, 30013, 30014, 30015, 30016, 30021, 30022]) {
    assert.ok(isChatStatus(status), String(status));
  }
  assert.ok(isApiStatus(10012));
  assert.ok(!isChatStatus(30017));
});

Deno.test("the v2 frames are exactly the issue's wire contract", () => {
  assert.equal(
    readFrame("Tom", 12),
    '{"status":30012,"msg":"Read","body":{"reader":"Tom","message_id":12}}',
  );
  assert.equal(
    sentFrame({ msg: "hi", toUser: "Jack", sendTime: "2026-12-01 10:00:00", messageId: 3 }),
    '{"status":30013,"msg":"Sent","body":{"msg":"hi","to_user":"Jack",' +
      '"send_time":"2026-12-01 10:00:00","message_id":3}}',
  );
  assert.equal(
    typingFrame("Tom", true),
    '{"status":30014,"msg":"Typing","body":{"from_user":"Tom","typing":true}}',
  );
  assert.equal(
    recalledFrame(5, "Tom"),
    '{"status":30015,"msg":"Recalled","body":{"message_id":5,"from_user":"Tom"}}',
  );
  assert.equal(deliveredFrame(7), '{"status":30016,"msg":"Delivered","body":{"message_id":7}}');
  assert.equal(
    presenceFrame({ user: "Jack", online: false, lastSeen: "2026-12-01 10:00:00" }),
    '{"status":30022,"msg":"Presence","body":{"user":"Jack","online":false,' +
      '"last_seen":"2026-12-01 10:00:00"}}',
  );
});

Deno.test("a 30021 carries peer, unread and the last message as a history item", () => {
  const frame = conversationUpdatedFrame({ peer: "Jack", unread: 2, lastMessage: LAST });
  assert.equal(
    frame,
    '{"status":30021,"msg":"Conversation updated","body":{"peer":"Jack","unread":2,' +
      '"last_message":{"message_id":9,"from_user":"Jack","to_user":"Tom",' +
      '"msg":"你好 Jack，在吗?","send_time":"2026-12-01 10:00:00"}}}',
  );
  const recalled = conversationUpdatedFrame({
    peer: "Jack",
    unread: 0,
    lastMessage: { ...LAST, msg: "", recalled: true },
  });
  assert.deepEqual(JSON.parse(recalled).body.last_message.recalled, true);
  assert.equal(JSON.parse(recalled).body.last_message.msg, "");
});

Deno.test("every v2 frame decodes back to what was encoded", () => {
  assert.deepEqual(decodeServerFrame(readFrame("Tom", 12)), {
    status: 30012,
    msg: "Read",
    reader: "Tom",
    messageId: 12,
  });
  const sent = { msg: "hi", toUser: "Jack", sendTime: "2026-12-01 10:00:00", messageId: 3 };
  assert.deepEqual(decodeServerFrame(sentFrame(sent)), { status: 30013, msg: "Sent", sent });
  assert.deepEqual(decodeServerFrame(typingFrame("Tom", false)), {
    status: 30014,
    msg: "Typing",
    fromUser: "Tom",
    typing: false,
  });
  assert.deepEqual(decodeServerFrame(recalledFrame(5, "Tom")), {
    status: 30015,
    msg: "Recalled",
    messageId: 5,
    fromUser: "Tom",
  });
  assert.deepEqual(decodeServerFrame(deliveredFrame(7)), {
    status: 30016,
    msg: "Delivered",
    messageId: 7,
  });
  const conversation = { peer: "Jack", unread: 2, lastMessage: LAST };
  assert.deepEqual(decodeServerFrame(conversationUpdatedFrame(conversation)), {
    status: 30021,
    msg: "Conversation updated",
    conversation,
  });
  const presence = { user: "Jack", online: true, lastSeen: null };
  assert.deepEqual(decodeServerFrame(presenceFrame(presence)), {
    status: 30022,
    msg: "Presence",
    presence,
  });
});

Deno.test("a malformed v2 body decodes to null rather than to a half frame", () => {
  assert.equal(decodeServerFrame(encodeFrame(30012, "Read", { reader: "Tom" })), null);
  assert.equal(
    decodeServerFrame(encodeFrame(30014, "Typing", { from_user: "x", typing: 1 })),
    null,
  );
  assert.equal(decodeServerFrame(encodeFrame(30016, "Delivered", { message_id: "7" })), null);
  assert.equal(decodeServerFrame(encodeFrame(30021, "x", { peer: "a", unread: -1 })), null);
  assert.equal(
    decodeServerFrame(encodeFrame(30021, "x", { peer: "a", unread: 0, last_message: {} })),
    null,
  );
  assert.equal(decodeServerFrame(encodeFrame(30022, "x", { user: "a", online: "yes" })), null);
});

Deno.test("a refused read or recall is a 30004 that names it, never taken for a message's", () => {
  const frame = refusedControlFrame("read", 99, "not a message from Jack to you");
  assert.equal(
    frame,
    '{"status":30004,"msg":"Invalid message","body":' +
      '{"reason":"not a message from Jack to you","read":99}}',
  );
  assert.deepEqual(decodeServerFrame(frame), {
    status: 30004,
    msg: "Invalid message",
    reason: "not a message from Jack to you",
    refused: { control: "read", messageId: 99 },
  });
  assert.deepEqual(
    JSON.parse(refusedControlFrame("recall", 4, "past the recall window", "c-1")).body,
    { reason: "past the recall window", recall: 4, id: "c-1" },
  );
  // A message's 30004 is unchanged: no `refused`.
  assert.deepEqual(decodeServerFrame(invalidMessageFrame("msg is empty")), {
    status: 30004,
    msg: "Invalid message",
    reason: "msg is empty",
  });
});

Deno.test("chat.v2 is offered only as a whole token of Sec-WebSocket-Protocol", () => {
  assert.equal(CHAT_SUBPROTOCOL_V2, "chat.v2");
  assert.ok(offersChatV2("chat.v2"));
  assert.ok(offersChatV2("other, chat.v2"));
  assert.ok(!offersChatV2(null));
  assert.ok(!offersChatV2(""));
  assert.ok(!offersChatV2("chat.v22"));
  assert.ok(!offersChatV2("chat.v1, chat"));
});
