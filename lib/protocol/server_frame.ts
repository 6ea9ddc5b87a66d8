/**
 * The frames the server sends on the chat socket, both ways: the encoders the server uses and the
 * decoder the client module uses. Every frame is `{"status", "msg", "body"}` in that key order,
 * as in the API document.
 */
import { CHAT_STATUS } from "./status.ts";
import { readV2Body, type V2ServerFrame } from "./v2_server_frame.ts";

export {
  type ConversationUpdate,
  conversationUpdatedFrame,
  deliveredFrame,
  type PresenceChange,
  presenceFrame,
  readFrame,
  recalledFrame,
  type SentElsewhere,
  sentFrame,
  typingFrame,
  type V2ServerFrame,
} from "./v2_server_frame.ts";

/** A chat message as the peer receives it (the body of a 30001). */
export interface ChatMessageView {
  readonly messageId: number;
  readonly fromUser: string;
  readonly msg: string;
  readonly sendTime: string;
}

/** The body of a 30010: the message the client sent with `id` is stored. */
export interface StoredAnswer {
  readonly id: string;
  readonly messageId: number;
  readonly sendTime: string;
}

/** Encodes a frame with the seed's key order. */
export function encodeFrame(status: number, msg: string, body: Record<string, unknown>): string {
  return JSON.stringify({ status, msg, body });
}

/** 30001: a chat message; the seed's body plus the `message_id` extension. */
export function chatMessageFrame(message: ChatMessageView): string {
  return encodeFrame(CHAT_STATUS.MESSAGE, "OK", {
    msg: message.msg,
    from_user: message.fromUser,
    send_time: message.sendTime,
    message_id: message.messageId,
  });
}

/** 30002: the token is missing, unknown, revoked or expired. */
export const TOKEN_FAILED_FRAME = encodeFrame(
  CHAT_STATUS.TOKEN_FAILED,
  "Token authentication failed",
  {},
);

/** 30003: the target user does not exist; names it as the client spelled it. */
export function targetNotFoundFrame(destUser: string): string {
  return encodeFrame(CHAT_STATUS.TARGET_NOT_FOUND, `Target user ${destUser} does not exist`, {});
}

/** 30004: a client frame was rejected; `id` when the frame carried a valid one. */
export function invalidMessageFrame(reason: string, id: string | null = null): string {
  return encodeFrame(
    CHAT_STATUS.INVALID_MESSAGE,
    "Invalid message",
    id === null ? { reason } : { reason, id },
  );
}

/** Which v2 frame a 30004 refuses when it is not a message: a read marker or a recall. */
export type RefusedControl = "read" | "recall";

/**
 * 30004 for a v2 `{"read": N}` or `{"recall": N}` that was refused: `{"reason", "read": N}` (or
 * `"recall"`), plus `"id"` when the frame had one, so a client never takes it for the answer to
 * its message in flight.
 */
export function refusedControlFrame(
  control: RefusedControl,
  messageId: number,
  reason: string,
  id: string | null = null,
): string {
  const body = { reason, [control]: messageId };
  return encodeFrame(
    CHAT_STATUS.INVALID_MESSAGE,
    "Invalid message",
    id === null ? body : { ...body, id },
  );
}

/** 30005: the socket sends faster than its rate; the message was not stored. */
export function rateLimitedFrame(retryAfterMs: number, id: string | null = null): string {
  return encodeFrame(
    CHAT_STATUS.RATE_LIMITED,
    "Rate limit exceeded",
    id === null ? { retry_after_ms: retryAfterMs } : { retry_after_ms: retryAfterMs, id },
  );
}

/** 30006: the user holds as many sockets as allowed; this one is closed. */
export function tooManyConnectionsFrame(limit: number): string {
  return encodeFrame(CHAT_STATUS.TOO_MANY_CONNECTIONS, "Too many connections", { limit });
}

/** Which daily quota a 30007 names: messages or bytes per UTC day. */
export type DailyQuotaKind = "messages" | "bytes";

/** 30007: the sender stored its daily quota; the message was not stored. */
export function dailyQuotaFrame(
  quota: DailyQuotaKind,
  limit: number,
  retryAfterMs: number,
  id: string | null = null,
): string {
  const body = { quota, limit, retry_after_ms: retryAfterMs };
  return encodeFrame(
    CHAT_STATUS.DAILY_QUOTA,
    "Daily quota exceeded",
    id === null ? body : { ...body, id },
  );
}

/** 30008: `limit` of the sender's messages wait for the receiver; the message was not stored. */
export function waitingQuotaFrame(limit: number, id: string | null = null): string {
  return encodeFrame(
    CHAT_STATUS.WAITING_QUOTA,
    "Too many messages waiting",
    id === null ? { limit } : { limit, id },
  );
}

/** 30010: a message that carried a client `id` is stored. */
export function storedFrame(id: string, messageId: number, sendTime: string): string {
  return encodeFrame(CHAT_STATUS.STORED, "Stored", {
    id,
    message_id: messageId,
    send_time: sendTime,
  });
}

/** 30011: a message could not be stored; nothing was delivered. */
export function notStoredFrame(id: string | null): string {
  return encodeFrame(
    CHAT_STATUS.NOT_STORED,
    "Message not stored, try again",
    id === null ? {} : { id },
  );
}

/** 30098: the peer is online on this pair. */
export function peerLoginFrame(peerName: string): string {
  return encodeFrame(CHAT_STATUS.PEER_LOGIN, `Target user ${peerName} login`, {});
}

/** 30099: the peer went offline on this pair. */
export function peerLogoutFrame(peerName: string): string {
  return encodeFrame(CHAT_STATUS.PEER_LOGOUT, `Target user ${peerName} logout`, {});
}

/** A 30007 or 30008 as the client module reads it. */
export interface QuotaFrame {
  readonly status: typeof CHAT_STATUS.DAILY_QUOTA | typeof CHAT_STATUS.WAITING_QUOTA;
  readonly msg: string;
  readonly id: string | null;
  readonly limit: number | null;
  /** With 30007: ms until the quota's next day begins. */
  readonly retryAfterMs: number | null;
}

/** A server frame as the client module reads it: its status, its `msg`, and its typed body. */
export type ServerFrame =
  | {
    readonly status: typeof CHAT_STATUS.MESSAGE;
    readonly msg: string;
    readonly message: ChatMessageView;
  }
  | {
    readonly status: typeof CHAT_STATUS.STORED;
    readonly msg: string;
    readonly stored: StoredAnswer;
  }
  | {
    readonly status: typeof CHAT_STATUS.INVALID_MESSAGE;
    readonly msg: string;
    readonly reason: string;
    /** Set when the 30004 refuses a v2 read marker or recall rather than a message. */
    readonly refused?: { readonly control: RefusedControl; readonly messageId: number };
  }
  | {
    readonly status: typeof CHAT_STATUS.RATE_LIMITED;
    readonly msg: string;
    readonly retryAfterMs: number | null;
    readonly id: string | null;
  }
  | {
    readonly status: typeof CHAT_STATUS.TOO_MANY_CONNECTIONS;
    readonly msg: string;
    readonly limit: number | null;
  }
  | {
    readonly status: typeof CHAT_STATUS.NOT_STORED;
    readonly msg: string;
    readonly id: string | null;
  }
  | QuotaFrame
  | V2ServerFrame
  | {
    readonly status:
      | typeof CHAT_STATUS.TOKEN_FAILED
      | typeof CHAT_STATUS.TARGET_NOT_FOUND
      | typeof CHAT_STATUS.PEER_LOGIN
      | typeof CHAT_STATUS.PEER_LOGOUT;
    readonly msg: string;
  };

type Body = Record<string, unknown>;

function finiteOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function readChatMessage(body: Body): ChatMessageView | null {
  const { message_id: messageId, from_user: fromUser, msg, send_time: sendTime } = body;
  if (typeof messageId !== "number" || typeof fromUser !== "string") return null;
  if (typeof msg !== "string" || typeof sendTime !== "string") return null;
  return { messageId, fromUser, msg, sendTime };
}

function readStored(body: Body): StoredAnswer | null {
  const { id, message_id: messageId, send_time: sendTime } = body;
  if (typeof id !== "string" || typeof messageId !== "number" || typeof sendTime !== "string") {
    return null;
  }
  return { id, messageId, sendTime };
}

function readInvalidMessage(msg: string, body: Body): ServerFrame {
  const status = CHAT_STATUS.INVALID_MESSAGE;
  const reason = stringOrNull(body.reason) ?? msg;
  for (const control of ["read", "recall"] as const) {
    const messageId = body[control];
    if (typeof messageId === "number" && Number.isSafeInteger(messageId)) {
      return { status, msg, reason, refused: { control, messageId } };
    }
  }
  return { status, msg, reason };
}

/** Reads the typed body of a frame with a known `status`; `null` when the body is malformed. */
function readBody(status: number, msg: string, body: Body): ServerFrame | null {
  switch (status) {
    case CHAT_STATUS.MESSAGE: {
      const message = readChatMessage(body);
      return message === null ? null : { status, msg, message };
    }
    case CHAT_STATUS.STORED: {
      const stored = readStored(body);
      return stored === null ? null : { status, msg, stored };
    }
    case CHAT_STATUS.INVALID_MESSAGE:
      return readInvalidMessage(msg, body);
    case CHAT_STATUS.RATE_LIMITED:
      return {
        status,
        msg,
        retryAfterMs: finiteOrNull(body.retry_after_ms),
        id: stringOrNull(body.id),
      };
    case CHAT_STATUS.TOO_MANY_CONNECTIONS:
      return { status, msg, limit: finiteOrNull(body.limit) };
    case CHAT_STATUS.NOT_STORED:
      return { status, msg, id: stringOrNull(body.id) };
    case CHAT_STATUS.DAILY_QUOTA:
    case CHAT_STATUS.WAITING_QUOTA:
      return {
        status,
        msg,
        id: stringOrNull(body.id),
        limit: finiteOrNull(body.limit),
        retryAfterMs: finiteOrNull(body.retry_after_ms),
      };
    case CHAT_STATUS.TOKEN_FAILED:
    case CHAT_STATUS.TARGET_NOT_FOUND:
    case CHAT_STATUS.PEER_LOGIN:
    case CHAT_STATUS.PEER_LOGOUT:
      return { status, msg };
    default:
      return readV2Body(status, msg, body);
  }
}

/**
 * Decodes a frame from the server; `null` for text that is not a frame of this protocol, a
 * status this version does not know (a newer service's extension: ignore it), or a malformed body.
 */
export function decodeServerFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { status, msg, body } = value as Body;
  if (typeof status !== "number") return null;
  const fields = typeof body === "object" && body !== null ? body as Body : {};
  return readBody(status, typeof msg === "string" ? msg : "", fields);
}
