/**
 * A message as the HTTP API lists it (history, and later lists that embed a message):
 * `{"message_id", "from_user", "to_user", "msg", "send_time"}`, encoded by the server and decoded
 * by the client module.
 */

/** A message of a conversation, both directions. */
export interface HistoryMessage {
  readonly messageId: number;
  readonly fromUser: string;
  readonly toUser: string;
  readonly msg: string;
  readonly sendTime: string;
}

/** The wire form of a history item, keys in this order. */
export function encodeHistoryItem(message: HistoryMessage): Record<string, unknown> {
  return {
    message_id: message.messageId,
    from_user: message.fromUser,
    to_user: message.toUser,
    msg: message.msg,
    send_time: message.sendTime,
  };
}

/** Reads a history item; `null` when it is not one. */
export function decodeHistoryItem(item: unknown): HistoryMessage | null {
  if (typeof item !== "object" || item === null) return null;
  const { message_id: messageId, from_user: fromUser, to_user: toUser, msg, send_time: sendTime } =
    item as Record<string, unknown>;
  if (typeof messageId !== "number" || typeof fromUser !== "string") return null;
  if (typeof toUser !== "string" || typeof msg !== "string" || typeof sendTime !== "string") {
    return null;
  }
  return { messageId, fromUser, toUser, msg, sendTime };
}
