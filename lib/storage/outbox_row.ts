/** A webhook outbox row as both SQL repositories select it, and its conversion. */
import { type MessageRow, toMessage } from "./message_row.ts";
import type { ClaimedEvent } from "./repository.ts";

/** The columns `CLAIMED_EVENT_COLUMNS` selects. */
export interface EventRow {
  seq: number;
  event_id: string;
  type: string;
  created_at: number;
  attempts: number;
  id: number | null;
  from_user: string | null;
  to_user: string | null;
  msg: string | null;
  send_time: string | null;
  username: string | null;
  last_seen_at: number | null;
}

/** An outbox row as a claimed event. */
export function toClaimedEvent(row: EventRow): ClaimedEvent {
  return {
    seq: row.seq,
    eventId: row.event_id,
    type: row.type,
    createdAt: row.created_at,
    attempts: row.attempts,
    message: row.id === null ? null : toMessage(row as MessageRow),
    user: row.username === null ? null : { username: row.username, lastSeenAt: row.last_seen_at },
  };
}

/** The body parts of claimed events: the message (with names), or the user. */
export const CLAIMED_EVENT_COLUMNS = `
  e.seq, e.event_id, e.type, e.created_at, e.attempts,
  m.id, f.username AS from_user, t.username AS to_user, m.msg, m.send_time,
  CASE WHEN e.message_id IS NULL THEN u.username END AS username, u.last_seen_at`;
