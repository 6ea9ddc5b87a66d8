import assert from "node:assert/strict";
import {
  chatMessageFrame,
  dailyQuotaFrame,
  encodeFrame,
  invalidMessageFrame,
  notStoredFrame,
  peerLoginFrame,
  peerLogoutFrame,
  storedFrame,
  targetNotFoundFrame,
  TOKEN_FAILED_FRAME,
  waitingQuotaFrame,
} from "../../lib/protocol/server_frame.ts";
import { CHAT_STATUS } from "../../lib/protocol/status.ts";

function keysOf(frame: string): string[] {
  return Object.keys(JSON.parse(frame));
}

Deno.test("the status codes are the API document's", () => {
  assert.equal(CHAT_STATUS.MESSAGE, 30001);
  assert.equal(CHAT_STATUS.TOKEN_FAILED, 30002);
  assert.equal(CHAT_STATUS.TARGET_NOT_FOUND, 30003);
  assert.equal(CHAT_STATUS.PEER_LOGIN, 30098);
  assert.equal(CHAT_STATUS.PEER_LOGOUT, 30099);
});

Deno.test("a frame's keys are status, msg, body in that order", () => {
  const frame = encodeFrame(30001, "OK", { b: 1, a: 2 });
  assert.equal(frame, '{"status":30001,"msg":"OK","body":{"b":1,"a":2}}');
  assert.deepEqual(keysOf(frame), ["status", "msg", "body"]);
});

Deno.test("a chat message frame is the seed's body plus message_id", () => {
  const frame = chatMessageFrame({
    messageId: 17,
    fromUser: "Jack",
    msg: "Hello Tom",
    sendTime: "2019-01-02 11:23:41",
  });
  assert.equal(
    frame,
    '{"status":30001,"msg":"OK","body":{"msg":"Hello Tom","from_user":"Jack",' +
      '"send_time":"2019-01-02 11:23:41","message_id":17}}',
  );
  assert.deepEqual(keysOf(frame), ["status", "msg", "body"]);
  assert.deepEqual(Object.keys(JSON.parse(frame).body), [
    "msg",
    "from_user",
    "send_time",
    "message_id",
  ]);
});

Deno.test("a chat message frame carries only the view's fields", () => {
  const stored = {
    messageId: 3,
    fromUser: "Tom",
    toUser: "Jack",
    msg: "hi",
    sendTime: "2024-05-01 12:00:00",
  };
  assert.equal(
    chatMessageFrame(stored),
    '{"status":30001,"msg":"OK","body":{"msg":"hi","from_user":"Tom",' +
      '"send_time":"2024-05-01 12:00:00","message_id":3}}',
  );
});

Deno.test("a chat message frame keeps Chinese and emoji as they are and escapes quotes", () => {
  const frame = chatMessageFrame({
    messageId: 1,
    fromUser: "张三",
    msg: '他说"你好"\\😀\n',
    sendTime: "2024-05-01 12:00:00",
  });
  assert.equal(
    frame,
    '{"status":30001,"msg":"OK","body":{"msg":"他说\\"你好\\"\\\\😀\\n","from_user":"张三",' +
      '"send_time":"2024-05-01 12:00:00","message_id":1}}',
  );
  assert.equal(JSON.parse(frame).body.msg, '他说"你好"\\😀\n');
});

Deno.test("the token failure frame is the seed's", () => {
  assert.equal(
    TOKEN_FAILED_FRAME,
    '{"status":30002,"msg":"Token authentication failed","body":{}}',
  );
});

Deno.test("the target-not-found frame names the target as given", () => {
  assert.equal(
    targetNotFoundFrame("Tony"),
    '{"status":30003,"msg":"Target user Tony does not exist","body":{}}',
  );
  assert.equal(
    targetNotFoundFrame("托尼"),
    '{"status":30003,"msg":"Target user 托尼 does not exist","body":{}}',
  );
});

Deno.test("the invalid-message frame carries the reason", () => {
  assert.equal(
    invalidMessageFrame("msg is empty"),
    '{"status":30004,"msg":"Invalid message","body":{"reason":"msg is empty"}}',
  );
});

Deno.test("the stored frame carries id, message_id and send_time in that order", () => {
  const frame = storedFrame("c-1", 12, "2024-05-01 12:00:00");
  assert.equal(
    frame,
    '{"status":30010,"msg":"Stored","body":{"id":"c-1","message_id":12,' +
      '"send_time":"2024-05-01 12:00:00"}}',
  );
  assert.deepEqual(keysOf(frame), ["status", "msg", "body"]);
});

Deno.test("the not-stored frame carries the client id when there is one", () => {
  assert.equal(
    notStoredFrame("c-1"),
    '{"status":30011,"msg":"Message not stored, try again","body":{"id":"c-1"}}',
  );
  assert.equal(
    notStoredFrame(null),
    '{"status":30011,"msg":"Message not stored, try again","body":{}}',
  );
});

Deno.test("the presence frames are the seed's", () => {
  assert.equal(peerLoginFrame("Tom"), '{"status":30098,"msg":"Target user Tom login","body":{}}');
  assert.equal(peerLogoutFrame("Tom"), '{"status":30099,"msg":"Target user Tom logout","body":{}}');
  assert.equal(peerLoginFrame("李四"), '{"status":30098,"msg":"Target user 李四 login","body":{}}');
  assert.deepEqual(keysOf(peerLoginFrame("Tom")), ["status", "msg", "body"]);
  assert.deepEqual(keysOf(peerLogoutFrame("Tom")), ["status", "msg", "body"]);
});

Deno.test("quota frames name the quota, its limit and the id; 30007 says when to retry", () => {
  assert.equal(
    dailyQuotaFrame("messages", 10000, 1234, "c-1"),
    '{"status":30007,"msg":"Daily quota exceeded","body":' +
      '{"quota":"messages","limit":10000,"retry_after_ms":1234,"id":"c-1"}}',
  );
  assert.equal(
    waitingQuotaFrame(5000, "c-2"),
    '{"status":30008,"msg":"Too many messages waiting","body":{"limit":5000,"id":"c-2"}}',
  );
  assert.equal(CHAT_STATUS.DAILY_QUOTA, 30007);
  assert.equal(CHAT_STATUS.WAITING_QUOTA, 30008);
});
