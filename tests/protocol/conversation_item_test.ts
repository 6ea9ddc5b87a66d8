/** Conversation list items: the server's wire form and the client's reading of it. */
import assert from "node:assert/strict";
import {
  type ConversationItem,
  decodeConversationItem,
  encodeConversationItem,
} from "../../lib/protocol/conversation_item.ts";

const ITEM: ConversationItem = {
  peer: "Jack",
  unread: 3,
  lastMessage: {
    messageId: 9,
    fromUser: "Jack",
    toUser: "Tom",
    msg: "在吗?",
    sendTime: "2026-12-01 10:00:00",
  },
  online: true,
  lastSeen: "2026-12-01 09:59:00",
  peerReadUpto: 7,
};

Deno.test("an item is peer, unread, last_message, online, last_seen, peer_read_upto", () => {
  const wire = encodeConversationItem(ITEM);
  assert.deepEqual(Object.keys(wire), [
    "peer",
    "unread",
    "last_message",
    "online",
    "last_seen",
    "peer_read_upto",
  ]);
  assert.deepEqual(Object.keys(wire.last_message as object), [
    "message_id",
    "from_user",
    "to_user",
    "msg",
    "send_time",
  ]);
  assert.deepEqual(decodeConversationItem(JSON.parse(JSON.stringify(wire))), ITEM);
});

Deno.test("an item without a last message or with a bad unread is not an item", () => {
  assert.equal(
    decodeConversationItem({ ...encodeConversationItem(ITEM), last_message: null }),
    null,
  );
  assert.equal(decodeConversationItem({ ...encodeConversationItem(ITEM), unread: "3" }), null);
  assert.equal(decodeConversationItem(null), null);
  const neverSeen = decodeConversationItem({ ...encodeConversationItem(ITEM), last_seen: null });
  assert.equal(neverSeen?.lastSeen, null);
});
