/** History items: the server's wire form and the client's reading of it. */
import assert from "node:assert/strict";
import {
  decodeHistoryItem,
  encodeHistoryItem,
  type HistoryMessage,
} from "../../lib/protocol/history_item.ts";

const MESSAGE: HistoryMessage = {
  messageId: 7,
  fromUser: "张三",
  toUser: "Tom",
  msg: '他说"你好" 😀',
  sendTime: "2024-05-01 12:00:00",
};

Deno.test("an item is message_id, from_user, to_user, msg, send_time in that order", () => {
  assert.equal(
    JSON.stringify(encodeHistoryItem(MESSAGE)),
    '{"message_id":7,"from_user":"张三","to_user":"Tom","msg":"他说\\"你好\\" 😀",' +
      '"send_time":"2024-05-01 12:00:00"}',
  );
});

Deno.test("an item carries only the message's fields", () => {
  const stored = { ...MESSAGE, clientId: "c-1", sentAt: 123 };
  assert.deepEqual(Object.keys(encodeHistoryItem(stored)), [
    "message_id",
    "from_user",
    "to_user",
    "msg",
    "send_time",
  ]);
});

Deno.test("an encoded item decodes to the same message", () => {
  const wire = JSON.parse(JSON.stringify(encodeHistoryItem(MESSAGE)));
  assert.deepEqual(decodeHistoryItem(wire), MESSAGE);
});

Deno.test("unknown keys of an item are ignored", () => {
  const wire = { ...encodeHistoryItem(MESSAGE), read: true };
  assert.deepEqual(decodeHistoryItem(wire), MESSAGE);
});

Deno.test("an item without every field, or with one of the wrong type, is null", () => {
  const wire = encodeHistoryItem(MESSAGE);
  for (const key of Object.keys(wire)) {
    assert.equal(decodeHistoryItem({ ...wire, [key]: undefined }), null, `without ${key}`);
    assert.equal(decodeHistoryItem({ ...wire, [key]: key === "message_id" ? "7" : 7 }), null, key);
  }
});

Deno.test("a value that is not an object is null", () => {
  for (const value of [null, undefined, 7, "item", true]) {
    assert.equal(decodeHistoryItem(value), null, String(value));
  }
  assert.equal(decodeHistoryItem([]), null);
});

Deno.test("a recalled item adds recalled: true after send_time; others carry no recalled key", () => {
  const recalled = { ...MESSAGE, msg: "", recalled: true };
  assert.equal(
    JSON.stringify(encodeHistoryItem(recalled)),
    '{"message_id":7,"from_user":"张三","to_user":"Tom","msg":"",' +
      '"send_time":"2024-05-01 12:00:00","recalled":true}',
  );
  assert.deepEqual(decodeHistoryItem(encodeHistoryItem(recalled)), recalled);
  assert.ok(!("recalled" in encodeHistoryItem({ ...MESSAGE, recalled: false })));
  assert.ok(!("recalled" in (decodeHistoryItem(encodeHistoryItem(MESSAGE)) ?? {})));
});
