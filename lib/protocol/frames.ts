/**
 * Encoders for the frames the server sends on the chat socket. Every frame is
 * `{"status", "msg", "body"}` in that key order, as in the API document.
 */
import { CHAT_STATUS } from "./status.ts";

/** A chat message as the peer receives it. */
export interface ChatMessageView {
  readonly messageId: number;
  readonly fromUser: string;
  readonly msg: string;
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

/** 30004: a client frame was rejected; the socket stays open. */
export function invalidMessageFrame(reason: string): string {
  return encodeFrame(CHAT_STATUS.INVALID_MESSAGE, "Invalid message", { reason });
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
