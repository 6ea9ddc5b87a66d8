/**
 * `GET /v1/inbox?token=<token>`: the inbox socket's HTTP side (chat.v2 only). The same refusals
 * before a socket exists as the chat route (426, 403 origin, 429/503 caps, 400 a malformed
 * upgrade), and 400 `10003` when the client does not offer `chat.v2`; a bad token (30002) or the
 * user's socket cap (30006) is sent on the opened socket, then it closes.
 */
import { API_STATUS } from "../protocol/status.ts";
import { CHAT_SUBPROTOCOL_V2, offersChatV2 } from "../protocol/subprotocol.ts";
import { isWebSocketUpgrade } from "../adapter/deno_websocket.ts";
import { envelope } from "../http/envelope.ts";
import type { RequestContext, RouteHandler } from "../http/router.ts";
import { admitInbox } from "./admission.ts";
import {
  type ChatRouteContext,
  openSession,
  upgradeRefusal,
  upgradeRequired,
} from "./chat_route.ts";
import { InboxSession } from "./inbox_session.ts";

/** The inbox route's handler. */
export function inboxRoute(context: ChatRouteContext): RouteHandler {
  return async (request: Request, { url, address }: RequestContext) => {
    if (!isWebSocketUpgrade(request)) return upgradeRequired();
    if (!offersChatV2(request.headers.get("sec-websocket-protocol"))) {
      return envelope(400, API_STATUS.INVALID_INPUT, "The inbox needs the chat.v2 subprotocol", {
        field: "sec-websocket-protocol",
        reason: `must offer ${CHAT_SUBPROTOCOL_V2}`,
      });
    }
    const refused = upgradeRefusal(context, request, address);
    if (refused !== null) return refused;
    const admission = await admitInbox(context, url.searchParams.get("token"));
    const userKey = admission.admitted ? String(admission.session.user.id) : null;
    return openSession(
      context,
      request,
      { address, userKey },
      CHAT_SUBPROTOCOL_V2,
      (socket, onClosed) => new InboxSession(socket, admission, context, onClosed),
    );
  };
}
