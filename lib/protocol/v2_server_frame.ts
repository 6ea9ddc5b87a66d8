/**
 * The frames only `chat.v2` sockets get (read, sent elsewhere, typing, recalled, delivered, and
 * the inbox socket's conversation updates and presence): their encoders for the server and their
 * readers for `decodeServerFrame`. Keys in the seed's `status, msg, body` order.
 */
import { decodeHistoryItem, encodeHistoryItem, type HistoryMessage } from "./history_item.ts";
import { CHAT_STATUS } from "./status.ts";

/** The body of a 30013: a message I sent from another socket of mine on this pair. */
export interface SentElsewhere {
  readonly msg: string;
  readonly toUser: string;
  readonly sendTime: string;
  readonly messageId: number;
}

/** The body of a 30021: one of my conversations as it is now. */
export interface ConversationUpdate {
  readonly peer: string;
  readonly unread: number;
  readonly lastMessage: HistoryMessage | null;
}

/** The body of a 30022: a user I have a conversation with came online or went offline. */
export interface PresenceChange {
  readonly user: string;
  readonly online: boolean;
  readonly lastSeen: string | null;
}

/** A v2 server frame as the client module reads it. */
export type V2ServerFrame =
  | {
    readonly status: typeof CHAT_STATUS.READ;
    readonly msg: string;
    readonly reader: string;
    readonly messageId: number;
  }
  | { readonly status: typeof CHAT_STATUS.SENT; readonly msg: string; readonly sent: SentElsewhere }
  | {
    readonly status: typeof CHAT_STATUS.TYPING;
    readonly msg: string;
    readonly fromUser: string;
    readonly typing: boolean;
  }
  | {
    readonly status: typeof CHAT_STATUS.RECALLED;
    readonly msg: string;
    readonly messageId: number;
    readonly fromUser: string;
  }
  | {
    readonly status: typeof CHAT_STATUS.DELIVERED;
    readonly msg: string;
    readonly messageId: number;
  }
  | {
    readonly status: typeof CHAT_STATUS.CONVERSATION_UPDATED;
    readonly msg: string;
    readonly conversation: ConversationUpdate;
  }
  | {
    readonly status: typeof CHAT_STATUS.PRESENCE;
    readonly msg: string;
    readonly presence: PresenceChange;
  };

function frame(status: number, msg: string, body: Record<string, unknown>): string {
  return JSON.stringify({ status, msg, body });
}

/** 30012: `reader` read my messages up to `messageId`. */
export function readFrame(reader: string, messageId: number): string {
  return frame(CHAT_STATUS.READ, "Read", { reader, message_id: messageId });
}

/** 30013: a message I sent from another socket of mine on this pair. */
export function sentFrame(sent: SentElsewhere): string {
  return frame(CHAT_STATUS.SENT, "Sent", {
    msg: sent.msg,
    to_user: sent.toUser,
    send_time: sent.sendTime,
    message_id: sent.messageId,
  });
}

/** 30014: the peer started (`true`) or stopped (`false`) typing. */
export function typingFrame(fromUser: string, typing: boolean): string {
  return frame(CHAT_STATUS.TYPING, "Typing", { from_user: fromUser, typing });
}

/** 30015: `fromUser` recalled the message `messageId`; its text is erased. */
export function recalledFrame(messageId: number, fromUser: string): string {
  return frame(CHAT_STATUS.RECALLED, "Recalled", { message_id: messageId, from_user: fromUser });
}

/** 30016: every message of mine to the peer up to `messageId` reached a socket of the peer. */
export function deliveredFrame(messageId: number): string {
  return frame(CHAT_STATUS.DELIVERED, "Delivered", { message_id: messageId });
}

/** 30021: one of my conversations as it is now (inbox socket). */
export function conversationUpdatedFrame(update: ConversationUpdate): string {
  return frame(CHAT_STATUS.CONVERSATION_UPDATED, "Conversation updated", {
    peer: update.peer,
    unread: update.unread,
    last_message: update.lastMessage === null ? null : encodeHistoryItem(update.lastMessage),
  });
}

/** 30022: `user` came online (first socket) or went offline (last socket closed). */
export function presenceFrame(change: PresenceChange): string {
  return frame(CHAT_STATUS.PRESENCE, "Presence", {
    user: change.user,
    online: change.online,
    last_seen: change.lastSeen,
  });
}

type Body = Record<string, unknown>;

function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function readSent(body: Body): SentElsewhere | null {
  const { msg, to_user: toUser, send_time: sendTime, message_id: messageId } = body;
  if (typeof msg !== "string" || typeof toUser !== "string") return null;
  if (typeof sendTime !== "string" || !isId(messageId)) return null;
  return { msg, toUser, sendTime, messageId };
}

function readConversation(body: Body): ConversationUpdate | null {
  const { peer, unread, last_message: last } = body;
  if (typeof peer !== "string" || !isId(unread)) return null;
  const lastMessage = last === null || last === undefined ? null : decodeHistoryItem(last);
  if (lastMessage === null && last !== null && last !== undefined) return null;
  return { peer, unread, lastMessage };
}

function readPresence(body: Body): PresenceChange | null {
  const { user, online, last_seen: lastSeen } = body;
  if (typeof user !== "string" || typeof online !== "boolean") return null;
  return { user, online, lastSeen: typeof lastSeen === "string" ? lastSeen : null };
}

/** Reads a v2 frame's typed body; `null` for another status or a malformed body. */
export function readV2Body(status: number, msg: string, body: Body): V2ServerFrame | null {
  switch (status) {
    case CHAT_STATUS.READ:
      if (typeof body.reader !== "string" || !isId(body.message_id)) return null;
      return { status, msg, reader: body.reader, messageId: body.message_id };
    case CHAT_STATUS.SENT: {
      const sent = readSent(body);
      return sent === null ? null : { status, msg, sent };
    }
    case CHAT_STATUS.TYPING:
      if (typeof body.from_user !== "string" || typeof body.typing !== "boolean") return null;
      return { status, msg, fromUser: body.from_user, typing: body.typing };
    case CHAT_STATUS.RECALLED:
      if (!isId(body.message_id) || typeof body.from_user !== "string") return null;
      return { status, msg, messageId: body.message_id, fromUser: body.from_user };
    case CHAT_STATUS.DELIVERED:
      return isId(body.message_id) ? { status, msg, messageId: body.message_id } : null;
    case CHAT_STATUS.CONVERSATION_UPDATED: {
      const conversation = readConversation(body);
      return conversation === null ? null : { status, msg, conversation };
    }
    case CHAT_STATUS.PRESENCE: {
      const presence = readPresence(body);
      return presence === null ? null : { status, msg, presence };
    }
    default:
      return null;
  }
}
