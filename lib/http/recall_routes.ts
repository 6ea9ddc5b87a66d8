/**
 * `DELETE /v1/messages/<id>`: the sender recalls a message of theirs within `RECALL_WINDOW`
 * (`Recaller`): 200 / 10001 with `{"message_id", "from_user"}` (again for one recalled before),
 * or 403 / 10012 with the reason when it is not their message or too old.
 */
import { API_STATUS } from "../protocol/status.ts";
import type { Accounts } from "../auth/accounts.ts";
import { type Recaller, refusalReason } from "../chat/recaller.ts";
import { envelope, invalidInput, tokenFromAuthorization } from "./envelope.ts";
import { tokenFailed } from "./user_routes.ts";

/** Answers a recall of the message `idText` (the path's, percent-decoded). */
export async function recall(
  request: Request,
  idText: string,
  accounts: Accounts,
  recaller: Recaller,
): Promise<Response> {
  const session = await accounts.authenticate(tokenFromAuthorization(request));
  if (session === null) return tokenFailed();
  const messageId = /^\d{1,16}$/.test(idText) ? Number(idText) : 0;
  if (messageId < 1 || !Number.isSafeInteger(messageId)) {
    return invalidInput("message_id", "must be a positive message id");
  }
  const outcome = await recaller.recall(session.user, messageId);
  if (outcome.kind === "refused") {
    const reason = refusalReason(outcome.reason, recaller.windowMs);
    return envelope(403, API_STATUS.RECALL_REFUSED, "Message cannot be recalled", {
      message_id: messageId,
      reason,
    });
  }
  return envelope(200, API_STATUS.OK, "Recalled", {
    message_id: messageId,
    from_user: outcome.message.fromUser,
  });
}
