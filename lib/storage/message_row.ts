/** A message row as both SQL repositories select it, and its conversion to `StoredMessage`. */
import type { StoredMessage } from "./repository.ts";

/** The columns every message query selects: `id, from_user, to_user, msg, send_time`. */
export interface MessageRow {
  id: number;
  from_user: string;
  to_user: string;
  msg: string;
  send_time: string;
}

/** A selected row as the repository returns it. */
export function toMessage(row: MessageRow): StoredMessage {
  return {
    messageId: row.id,
    fromUser: row.from_user,
    toUser: row.to_user,
    msg: row.msg,
    sendTime: row.send_time,
  };
}
