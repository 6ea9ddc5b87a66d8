/**
 * The JSON body of a webhook request: `{"id", "type", "created_at", "data"}`. For `message.*`
 * the data is the history item (`message_id, from_user, to_user, msg, send_time`); for
 * `user.*` it is `{"username", "online", "last_seen"}`.
 */
import { encodeHistoryItem } from "../protocol/history_item.ts";
import type { ClaimedEvent } from "../storage/repository.ts";
import { formatLocalTime } from "../time.ts";

/** The body of a claimed event, or `null` when what it was about is gone. */
export function eventBody(event: ClaimedEvent): string | null {
  let data: Record<string, unknown>;
  if (event.message !== null) {
    data = encodeHistoryItem(event.message);
  } else if (event.user !== null) {
    data = {
      username: event.user.username,
      online: event.type === "user.online",
      last_seen: event.user.lastSeenAt === null ? null : formatLocalTime(event.user.lastSeenAt),
    };
  } else {
    return null;
  }
  return JSON.stringify({
    id: event.eventId,
    type: event.type,
    created_at: new Date(event.createdAt).toISOString(),
    data,
  });
}
