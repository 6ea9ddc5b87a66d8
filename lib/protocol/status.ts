/**
 * Status codes of the chat socket (3xxxx, from the API document), of the HTTP API (1xxxx), and
 * the WebSocket close codes the server uses: `as const` tables, their derived types and `isX()`
 * guards. The server, the client module, the page and the bench all read them from here.
 */

/** Status codes carried by frames on the chat socket. */
export const CHAT_STATUS = {
  /** A chat message from the peer (seed: 普通聊天消息). */
  MESSAGE: 30001,
  /** The token is missing, unknown, revoked or expired (seed: token验证失败). */
  TOKEN_FAILED: 30002,
  /** The target user does not exist (seed: 对端用户不存在). */
  TARGET_NOT_FOUND: 30003,
  /** Extension: a frame from the client was rejected; nothing was stored. */
  INVALID_MESSAGE: 30004,
  /** Extension: the socket sends faster than its rate limit; the message was not stored. */
  RATE_LIMITED: 30005,
  /** Extension: the user holds as many sockets as allowed; this one is closed. */
  TOO_MANY_CONNECTIONS: 30006,
  /** Extension: the sender stored its daily quota of messages or bytes; this one was not stored. */
  DAILY_QUOTA: 30007,
  /** Extension: too many of the sender's messages wait for the receiver; this one was not stored. */
  WAITING_QUOTA: 30008,
  /** Extension: a message carrying a client `id` was stored. */
  STORED: 30010,
  /** Extension: the message could not be stored; the client may send it again. */
  NOT_STORED: 30011,
  /** v2: the peer read my messages up to `message_id` (the peer's read marker moved). */
  READ: 30012,
  /** v2: I sent a message from another socket of mine on this pair. */
  SENT: 30013,
  /** v2: the peer started or stopped typing on this pair. */
  TYPING: 30014,
  /** v2: a message of this pair was recalled by its sender; its text is erased. */
  RECALLED: 30015,
  /** v2: every message of mine to the peer up to `message_id` reached a socket of the peer. */
  DELIVERED: 30016,
  /** v2, inbox socket: one of my conversations changed (a message, a read marker, a recall). */
  CONVERSATION_UPDATED: 30021,
  /** v2, inbox socket: a user I have a conversation with came online or went offline. */
  PRESENCE: 30022,
  /** The peer came online on this pair (seed: 对端用户上线通知). */
  PEER_LOGIN: 30098,
  /** The peer went offline on this pair (seed: 对端用户离线通知). */
  PEER_LOGOUT: 30099,
} as const;

/** A status code of the chat socket. */
export type ChatStatus = typeof CHAT_STATUS[keyof typeof CHAT_STATUS];

const CHAT_STATUSES: ReadonlySet<number> = new Set(Object.values(CHAT_STATUS));

/** Whether `value` is a status code this protocol defines for the chat socket. */
export function isChatStatus(value: unknown): value is ChatStatus {
  return typeof value === "number" && CHAT_STATUSES.has(value);
}

/** Status codes carried by responses of the HTTP API. */
export const API_STATUS = {
  OK: 10001,
  USERNAME_TAKEN: 10002,
  INVALID_INPUT: 10003,
  TOKEN_FAILED: 10004,
  LOGIN_FAILED: 10005,
  NOT_FOUND: 10006,
  RATE_LIMITED: 10007,
  METHOD_NOT_ALLOWED: 10008,
  UPGRADE_REQUIRED: 10009,
  FORBIDDEN: 10010,
  UNAVAILABLE: 10011,
  /** The message cannot be recalled: not the caller's own, or past `RECALL_WINDOW`. */
  RECALL_REFUSED: 10012,
  /** A request body that is not `application/json` (HTTP 415). */
  UNSUPPORTED_MEDIA_TYPE: 10013,
  /** The sender stored its daily quota (admin API); retry after `retry_after_ms`. */
  DAILY_QUOTA: 10016,
  /** Too many of the sender's messages wait for the receiver (admin API). */
  WAITING_QUOTA: 10017,
  /** The request's body did not arrive within `HTTP_BODY_TIMEOUT` (408). */
  REQUEST_TIMEOUT: 10018,
  INTERNAL_ERROR: 10099,
} as const;

/** A status code of the HTTP API. */
export type ApiStatus = typeof API_STATUS[keyof typeof API_STATUS];

const API_STATUSES: ReadonlySet<number> = new Set(Object.values(API_STATUS));

/** Whether `value` is a status code of the HTTP API. */
export function isApiStatus(value: unknown): value is ApiStatus {
  return typeof value === "number" && API_STATUSES.has(value);
}

/** WebSocket close codes the server uses. */
export const CLOSE_CODE = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** A binary frame: the chat socket takes JSON text only. */
  UNSUPPORTED_DATA: 1003,
  /**
   * Token authentication failed, the token was revoked, the target does not exist, or a client
   * that did not opt into extensions sent an invalid message, sent too fast or is over a storage
   * quota.
   */
  POLICY_VIOLATION: 1008,
  /** A frame was larger than `MAX_FRAME_BYTES`. */
  MESSAGE_TOO_BIG: 1009,
  /** An unexpected server error. */
  INTERNAL_ERROR: 1011,
  /** The receiver is too slow (or acknowledges too little); its messages stay waiting. */
  TRY_AGAIN_LATER: 1013,
} as const;

/**
 * Close codes of RFC 6455 that clients (the client module, the bench) use or see: a normal
 * close, and the codes a close event reports when no close frame, or one without a code, came.
 */
export const RFC_CLOSE_CODE = {
  /** The client is done. */
  NORMAL: 1000,
  /** A close frame without a code. */
  NO_STATUS: 1005,
  /** The connection ended without a close frame. */
  ABNORMAL: 1006,
} as const;

/** A close code the server uses. */
export type CloseCode = typeof CLOSE_CODE[keyof typeof CLOSE_CODE];

const CLOSE_CODES: ReadonlySet<number> = new Set(Object.values(CLOSE_CODE));

/** Whether `value` is a close code the server uses. */
export function isCloseCode(value: unknown): value is CloseCode {
  return typeof value === "number" && CLOSE_CODES.has(value);
}
