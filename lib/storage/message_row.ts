/** A message row as both SQL repositories select it, and its conversion to `StoredMessage`. */
import type { StoredMessage } from "./repository.ts";

/** The columns every message query selects: `id, from_user, to_user, msg, send_time`. */
export interface MessageRow {
  id: number;
  from_user: string;
  to_user: string;
  msg: string;
  send_time: string;
  /** Whether the sender recalled it (0/1 on SQLite); absent from queries that do not read it. */
  recalled?: boolean | number;
}

/** A selected row as the repository returns it. */
export function toMessage(row: MessageRow): StoredMessage {
  const message = {
    messageId: row.id,
    fromUser: row.from_user,
    toUser: row.to_user,
    msg: row.msg,
    sendTime: row.send_time,
  };
  return row.recalled ? { ...message, recalled: true } : message;
}

/** The select list of `MessageRow`, over `messages m` joined as `MESSAGE_JOINS` says. */
export const MESSAGE_COLUMNS = "m.id AS id, f.username AS from_user, t.username AS to_user, " +
  "m.msg AS msg, m.send_time AS send_time, m.recalled_at IS NOT NULL AS recalled";

/** The joins `MESSAGE_COLUMNS` reads the names from. */
export const MESSAGE_JOINS =
  "JOIN users f ON f.id = m.from_user_id JOIN users t ON t.id = m.to_user_id";
