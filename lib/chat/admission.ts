/**
 * Who may open a chat socket, decided before the upgrade: the token first (30002), then the
 * target user (30003), then the user's socket cap (30006). The verdict's disconnect is the first
 * and only frame a refused socket gets.
 */
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import { INBOX_PEER } from "../hub/hub.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import type { ConnectionCounter } from "../limits/connection_counter.ts";
import type { Metrics } from "../metrics.ts";
import type { Repository, Session, UserRef } from "../storage/repository.ts";

/** The verdict on an upgrade request, reached before the socket opens. */
export type Admission =
  | {
    readonly admitted: true;
    readonly session: Session;
    readonly peer: UserRef;
    /** Receipt mode (`ack=1`): a message counts as delivered only once the client acks it. */
    readonly receipts: boolean;
    /** The socket negotiated `chat.v2`: it gets the v2 frames and may send v2 control frames. */
    readonly v2: boolean;
  }
  | { readonly admitted: false; readonly disconnect: Disconnect };

/** What admission reads. */
export interface AdmissionContext {
  /** Chat tokens and, when configured, the app's JWTs. */
  readonly authenticator: Authenticator;
  readonly repository: Repository;
  readonly connections: ConnectionCounter;
  readonly metrics: Metrics;
  readonly maxConnectionsPerUser: number;
}

/** What the client asked for: its token, the target as it spelled it, receipt mode, chat.v2. */
export interface ChatRequest {
  readonly token: string | null;
  readonly peerName: string;
  readonly receipts: boolean;
  /** Whether the upgrade offered the `chat.v2` subprotocol (absent: no). */
  readonly v2?: boolean;
}

/** Decides what an opening chat socket will be told. */
export async function admit(context: AdmissionContext, request: ChatRequest): Promise<Admission> {
  const session = await context.authenticator.authenticate(request.token);
  if (session === null) {
    context.metrics.authFailures.inc({ kind: "token" });
    return { admitted: false, disconnect: DISCONNECT.TOKEN_FAILED };
  }
  const name = checkUsername(request.peerName);
  const peer = name.ok ? await context.repository.findUser(usernameKey(name.username)) : null;
  if (peer === null) {
    return { admitted: false, disconnect: DISCONNECT.targetNotFound(request.peerName) };
  }
  if (context.connections.userAtCap(String(session.user.id))) {
    context.metrics.connectionsRefused.inc({ reason: "user" });
    return {
      admitted: false,
      disconnect: DISCONNECT.tooManyConnections(context.maxConnectionsPerUser),
    };
  }
  return {
    admitted: true,
    session,
    peer: { id: peer.id, username: peer.username },
    receipts: request.receipts,
    v2: request.v2 === true,
  };
}

/**
 * Decides what an opening inbox socket (`/v1/inbox`, chat.v2 only) will be told: the token
 * (30002), then the user's socket cap (30006). Its peer is `INBOX_PEER`.
 */
export async function admitInbox(
  context: AdmissionContext,
  token: string | null,
): Promise<Admission> {
  const session = await context.authenticator.authenticate(token);
  if (session === null) {
    context.metrics.authFailures.inc({ kind: "token" });
    return { admitted: false, disconnect: DISCONNECT.TOKEN_FAILED };
  }
  if (context.connections.userAtCap(String(session.user.id))) {
    context.metrics.connectionsRefused.inc({ reason: "user" });
    return {
      admitted: false,
      disconnect: DISCONNECT.tooManyConnections(context.maxConnectionsPerUser),
    };
  }
  return { admitted: true, session, peer: INBOX_PEER, receipts: false, v2: true };
}
