/**
 * A message as the HTTP API lists it (history, the conversation list, the inbox socket's 30021):
 * `{"message_id", "from_user", "to_user", "msg", "send_time"}`, plus `"recalled": true` (with
 * `"msg": ""`) for a message its sender recalled; encoded by the server and decoded by the client
 * module.
 */

/** A message of a conversation, both directions. */
export interface HistoryMessage {
  readonly messageId: number;
  readonly fromUser: string;
  readonly toUser: string;
  readonly msg: string;
  readonly sendTime: string;
  /** The sender recalled it: its text is erased (`msg` is ""). Absent or false otherwise. */
  readonly recalled?: boolean;
}

/** The wire form of a history item, keys in this order; `recalled` only when true. */
export function encodeHistoryItem(message: HistoryMessage): Record<string, unknown> {
  const item: Record<string, unknown> = {
    message_id: message.messageId,
    from_user: message.fromUser,
    to_user: message.toUser,
    msg: message.msg,
    send_time: message.sendTime,
  };
  if (message.recalled === true) item.recalled = true;
  return item;
}

/** Reads a history item; `null` when it is not one. `recalled` is set only when true. */
export function decodeHistoryItem(item: unknown): HistoryMessage | null {
  if (typeof item !== "object" || item === null) return null;
  const {
    message_id: messageId,
    from_user: fromUser,
    to_user: toUser,
    msg,
    send_time: sendTime,
    recalled,
  } = item as Record<string, unknown>;
  if (typeof messageId !== "number" || typeof fromUser !== "string") return null;
  if (typeof toUser !== "string" || typeof msg !== "string" || typeof sendTime !== "string") {
    return null;
  }
  const message = { messageId, fromUser, toUser, msg, sendTime };
  return recalled === true ? { ...message, recalled: true } : message;
}
