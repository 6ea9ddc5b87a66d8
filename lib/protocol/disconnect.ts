/**
 * Every way the server ends a chat socket, as one table: the frame it sends first (if any), the
 * close code and the close reason together. A session ends a socket only through
 * `terminate(disconnect)` with a value from here, so "why did my socket close with 1008?" has
 * one answer in one file. Model: centrifugal/centrifuge `disconnect.go`.
 */
import {
  dailyQuotaFrame,
  type DailyQuotaKind,
  invalidMessageFrame,
  notStoredFrame,
  rateLimitedFrame,
  targetNotFoundFrame,
  TOKEN_FAILED_FRAME,
  tooManyConnectionsFrame,
  waitingQuotaFrame,
} from "./server_frame.ts";
import { CLOSE_CODE, type CloseCode } from "./status.ts";

/** Why a socket ends: a short fixed name for logs and metrics. */
export type DisconnectKind =
  | "token_failed"
  | "token_expired"
  | "target_not_found"
  | "too_many_connections"
  | "frame_too_big"
  | "invalid_message"
  | "not_stored"
  | "sending_too_fast"
  | "daily_quota"
  | "waiting_quota"
  | "too_slow"
  | "try_again_later"
  | "going_away"
  | "internal_error";

/** How a socket ends: the frame sent before the close (or none), the close code and reason. */
export interface Disconnect {
  readonly kind: DisconnectKind;
  /** Sent just before the close frame; `null` sends none. */
  readonly frame: string | null;
  readonly code: CloseCode;
  /** The close frame's reason (at most 123 bytes of UTF-8), also logged. */
  readonly reason: string;
}

function disconnect(
  kind: DisconnectKind,
  frame: string | null,
  code: CloseCode,
  reason: string,
): Disconnect {
  return Object.freeze({ kind, frame, code, reason });
}

/** Cuts a close reason to the 123 bytes of UTF-8 a close frame can carry. */
function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= 123) return text;
  // Cut at a character boundary: drop the bytes of a character that does not fit whole.
  return new TextDecoder().decode(bytes.slice(0, 123)).replace(/\uFFFD$/, "");
}

/** The table of every way a chat socket ends. */
export const DISCONNECT = {
  /** 30002, 1008: the token is missing, unknown or revoked (logout, or checked again on join). */
  TOKEN_FAILED: disconnect(
    "token_failed",
    TOKEN_FAILED_FRAME,
    CLOSE_CODE.POLICY_VIOLATION,
    "Token authentication failed",
  ),
  /** 30002, 1008: the token expired while the socket was open. */
  TOKEN_EXPIRED: disconnect(
    "token_expired",
    TOKEN_FAILED_FRAME,
    CLOSE_CODE.POLICY_VIOLATION,
    "Token expired",
  ),
  /** 30003, 1008: the target user does not exist; the frame names it as the client spelled it. */
  targetNotFound: (destUser: string): Disconnect =>
    disconnect(
      "target_not_found",
      targetNotFoundFrame(destUser),
      CLOSE_CODE.POLICY_VIOLATION,
      "Target user does not exist",
    ),
  /** 30006, 1008: the user already holds `limit` sockets. */
  tooManyConnections: (limit: number): Disconnect =>
    disconnect(
      "too_many_connections",
      tooManyConnectionsFrame(limit),
      CLOSE_CODE.POLICY_VIOLATION,
      "Too many connections",
    ),
  /** 1009: a frame larger than `MAX_FRAME_BYTES`. */
  FRAME_TOO_BIG: disconnect("frame_too_big", null, CLOSE_CODE.MESSAGE_TOO_BIG, "Frame too big"),
  /**
   * 30004, then 1008 (1003 for a binary frame): a frame from a client that did not opt into
   * extensions was not a valid message, so nothing of it was stored; neither is anything the
   * client sent after it (the socket ends here).
   */
  invalidMessage: (reason: string, binary = false): Disconnect =>
    disconnect(
      "invalid_message",
      invalidMessageFrame(reason),
      binary ? CLOSE_CODE.UNSUPPORTED_DATA : CLOSE_CODE.POLICY_VIOLATION,
      closeReason(`Invalid message, not stored: ${reason}`),
    ),
  /**
   * 30011, then 1013: a message from a client that did not opt into extensions could not be
   * stored (storage failed); neither it nor what followed it on the socket was stored.
   */
  NOT_STORED: disconnect(
    "not_stored",
    notStoredFrame(null),
    CLOSE_CODE.TRY_AGAIN_LATER,
    "Message not stored, try again",
  ),
  /**
   * 30005, then 1008: more messages wait to be stored (over `MSG_RATE`) than `MSG_QUEUE` or
   * `MSG_QUEUE_BYTES` allow. Every message received before the close is stored.
   */
  sendingTooFast: (retryAfterMs: number): Disconnect =>
    disconnect(
      "sending_too_fast",
      rateLimitedFrame(retryAfterMs),
      CLOSE_CODE.POLICY_VIOLATION,
      "Sending too fast; messages before this close are stored, later ones are not",
    ),
  /**
   * 30007, then 1008: a message from a client that did not opt into extensions was not stored,
   * its sender having stored its daily quota (`QUOTA_DAILY_MESSAGES` or `QUOTA_DAILY_BYTES`).
   * Every message before it is stored.
   */
  dailyQuota: (quota: DailyQuotaKind, limit: number, retryAfterMs: number): Disconnect =>
    disconnect(
      "daily_quota",
      dailyQuotaFrame(quota, limit, retryAfterMs),
      CLOSE_CODE.POLICY_VIOLATION,
      `Daily quota of ${quota} reached; messages before this close are stored, later ones are not`,
    ),
  /**
   * 30008, then 1008: as above, `QUOTA_WAITING_MESSAGES` of the sender's messages wait for the
   * receiver; one more is stored once the receiver got some.
   */
  waitingQuota: (limit: number): Disconnect =>
    disconnect(
      "waiting_quota",
      waitingQuotaFrame(limit),
      CLOSE_CODE.POLICY_VIOLATION,
      "Too many messages waiting for the receiver; messages before this close are stored",
    ),
  /** 1013: the receiver is too slow or acknowledges too little; its messages stay waiting. */
  TOO_SLOW: disconnect(
    "too_slow",
    null,
    CLOSE_CODE.TRY_AGAIN_LATER,
    "Receiver too slow; messages kept waiting",
  ),
  /** 1013: a dependency (Redis) is unreachable; reconnect later, to any node. */
  TRY_AGAIN_LATER: disconnect(
    "try_again_later",
    null,
    CLOSE_CODE.TRY_AGAIN_LATER,
    "Try again later",
  ),
  /** 1001: the server is shutting down. */
  GOING_AWAY: disconnect("going_away", null, CLOSE_CODE.GOING_AWAY, "Server shutting down"),
  /** 1011: an unexpected error on this socket. */
  INTERNAL_ERROR: disconnect("internal_error", null, CLOSE_CODE.INTERNAL_ERROR, "Internal error"),
} as const;
