/**
 * `GET /v1/chat/<peer>/messages`: the conversation with a peer, newest first, paged by id; with
 * `q=<text>`, only the messages containing the text (case-insensitive), paged the same way.
 */
import { encodeHistoryItem } from "../protocol/history_item.ts";
import { countCodePoints } from "../protocol/text.ts";
import { API_STATUS } from "../protocol/status.ts";
import type { Accounts } from "../auth/accounts.ts";
import type { Repository } from "../storage/repository.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import { envelope, invalidInput, tokenFromAuthorization } from "./envelope.ts";
import { tokenFailed } from "./user_routes.ts";

/** Page size bounds of the history API. */
export const HISTORY_LIMIT = { default: 50, max: 200 } as const;

/** The longest search text, in characters. */
export const MAX_SEARCH_CHARS = 200;

/** The search text of `q` without surrounding spaces; `undefined` when absent, else why not. */
function searchText(q: string | null): string | undefined | { readonly reason: string } {
  if (q === null) return undefined;
  const text = q.trim();
  if (text === "") return { reason: "must contain a character other than spaces" };
  // No message holds one (client_frame.ts refuses it), and engines treat it apart.
  if (text.includes("\u0000")) return { reason: "must not contain U+0000" };
  if (countCodePoints(text) > MAX_SEARCH_CHARS) {
    return { reason: `must be at most ${MAX_SEARCH_CHARS} characters` };
  }
  return text;
}

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
  const text = searchText(url.searchParams.get("q"));
  if (typeof text === "object") return invalidInput("q", text.reason);
  const name = checkUsername(peerName);
  const peer = name.ok ? await repository.findUser(usernameKey(name.username)) : null;
  if (peer === null) {
    return envelope(404, API_STATUS.NOT_FOUND, `Target user ${peerName} does not exist`);
  }
  const pageSize = limit ?? HISTORY_LIMIT.default;
  const page = { limit: pageSize, beforeId: before };
  const messages = text === undefined
    ? await repository.history(session.user.id, peer.id, page)
    : await repository.searchMessages(session.user.id, peer.id, { ...page, text });
  const last = messages.at(-1);
  return envelope(200, API_STATUS.OK, "OK", {
    messages: messages.map((message) => encodeHistoryItem(message)),
    // The `before` of the next (older) page; null on the last page.
    next_before: messages.length === pageSize && last !== undefined ? last.messageId : null,
  });
}
