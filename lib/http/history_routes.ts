/** `GET /v1/chat/<peer>/messages`: the conversation with a peer, newest first, paged by id. */
import { encodeHistoryItem } from "../protocol/history_item.ts";
import { API_STATUS } from "../protocol/status.ts";
import type { Accounts } from "../auth/accounts.ts";
import type { Repository } from "../storage/repository.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import { envelope, invalidInput, tokenFromAuthorization } from "./envelope.ts";
import { tokenFailed } from "./user_routes.ts";

/** Page size bounds of the history API. */
export const HISTORY_LIMIT = { default: 50, max: 200 } as const;

/** A whole number from 1 to `max` in `text`; `undefined` when absent, `null` when not one. */
export function positiveInteger(text: string | null, max: number): number | null | undefined {
  if (text === null) return undefined;
  if (!/^\d{1,16}$/.test(text)) return null;
  const value = Number(text);
  return value >= 1 && value <= max ? value : null;
}

/** Answers a history request for the peer named `peerName` (already percent-decoded). */
export async function history(
  request: Request,
  url: URL,
  peerName: string,
  accounts: Accounts,
  repository: Repository,
): Promise<Response> {
  const session = await accounts.authenticate(tokenFromAuthorization(request));
  if (session === null) return tokenFailed();
  const limit = positiveInteger(url.searchParams.get("limit"), HISTORY_LIMIT.max);
  if (limit === null) {
    return invalidInput("limit", `must be a whole number from 1 to ${HISTORY_LIMIT.max}`);
  }
  const before = positiveInteger(url.searchParams.get("before"), Number.MAX_SAFE_INTEGER);
  if (before === null) return invalidInput("before", "must be a positive message id");
  const name = checkUsername(peerName);
  const peer = name.ok ? await repository.findUser(usernameKey(name.username)) : null;
  if (peer === null) {
    return envelope(404, API_STATUS.NOT_FOUND, `Target user ${peerName} does not exist`);
  }
  const pageSize = limit ?? HISTORY_LIMIT.default;
  const messages = await repository.history(session.user.id, peer.id, {
    limit: pageSize,
    beforeId: before,
  });
  const last = messages.at(-1);
  return envelope(200, API_STATUS.OK, "OK", {
    messages: messages.map((message) => encodeHistoryItem(message)),
    // The `before` of the next (older) page; null on the last page.
    next_before: messages.length === pageSize && last !== undefined ? last.messageId : null,
  });
}
