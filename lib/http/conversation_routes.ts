/**
 * `GET /v1/conversations?limit=&before=`: the caller's conversations, most recent activity first,
 * with unread counts, the last message, the peer's presence and read marker; and
 * `POST /v1/chat/<peer>/read` `{"message_id"}`: moves the caller's read marker.
 */
import { encodeConversationItem } from "../protocol/conversation_item.ts";
import { API_STATUS } from "../protocol/status.ts";
import type { Accounts } from "../auth/accounts.ts";
import type { Hub } from "../hub/hub.ts";
import type { ConversationNotifier } from "../chat/conversation_notifier.ts";
import type { Repository } from "../storage/repository.ts";
import { formatLocalTime } from "../time.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import { envelope, invalidInput, readJsonObject, tokenFromAuthorization } from "./envelope.ts";
import { positiveInteger } from "./history_routes.ts";
import { tokenFailed } from "./user_routes.ts";

/** Page size bounds of the conversation list. */
export const CONVERSATION_LIMIT = { default: 20, max: 100 } as const;

/** What the conversation routes need. */
export interface ConversationRoutesContext {
  readonly accounts: Accounts;
  readonly repository: Repository;
  readonly hub: Hub;
  readonly notifier: ConversationNotifier;
}

/** Answers `GET /v1/conversations`. */
export async function conversationList(
  request: Request,
  url: URL,
  context: ConversationRoutesContext,
): Promise<Response> {
  const session = await context.accounts.authenticate(tokenFromAuthorization(request));
  if (session === null) return tokenFailed();
  const limit = positiveInteger(url.searchParams.get("limit"), CONVERSATION_LIMIT.max);
  if (limit === null) {
    return invalidInput("limit", `must be a whole number from 1 to ${CONVERSATION_LIMIT.max}`);
  }
  const before = positiveInteger(url.searchParams.get("before"), Number.MAX_SAFE_INTEGER);
  if (before === null) return invalidInput("before", "must be a positive message id");
  const pageSize = limit ?? CONVERSATION_LIMIT.default;
  const records = await context.repository.conversations(session.user.id, {
    limit: pageSize,
    beforeId: before,
  });
  // Presence from the hub (any socket of the peer, on any node), one look-up per peer at once.
  const online = await Promise.all(records.map((record) => context.hub.isOnline(record.peer.id)));
  const last = records.at(-1);
  return envelope(200, API_STATUS.OK, "OK", {
    conversations: records.map((record, i) =>
      encodeConversationItem({
        peer: record.peer.username,
        unread: record.unread,
        lastMessage: record.lastMessage,
        online: online[i],
        lastSeen: record.peerLastSeenAt === null ? null : formatLocalTime(record.peerLastSeenAt),
        peerReadUpto: record.peerReadUpto,
      })
    ),
    // The `before` of the next page; null on the last page.
    next_before: records.length === pageSize && last !== undefined
      ? last.lastMessage.messageId
      : null,
  });
}

/** Answers `POST /v1/chat/<peer>/read` for the peer named `peerName` (percent-decoded). */
export async function markRead(
  request: Request,
  peerName: string,
  context: ConversationRoutesContext,
): Promise<Response> {
  const session = await context.accounts.authenticate(tokenFromAuthorization(request));
  if (session === null) return tokenFailed();
  const body = await readJsonObject(request);
  if (!body.ok) return body.response;
  const messageId = body.value.message_id;
  if (typeof messageId !== "number" || !Number.isSafeInteger(messageId) || messageId < 1) {
    return invalidInput("message_id", "must be a positive message id");
  }
  const name = checkUsername(peerName);
  const peer = name.ok ? await context.repository.findUser(usernameKey(name.username)) : null;
  if (peer === null) {
    return envelope(404, API_STATUS.NOT_FOUND, `Target user ${peerName} does not exist`);
  }
  const mark = await context.notifier.markRead(session.user, peer, messageId);
  if (mark === null) {
    return invalidInput("message_id", `must be a message from ${peer.username} to you`);
  }
  return envelope(200, API_STATUS.OK, "OK", { read_upto: mark.readUpto, unread: mark.unread });
}
