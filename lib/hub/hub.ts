/**
 * The presence and fan-out seam. A connection belongs to the pair (user -> peer); the peer is
 * online when it holds a connection on (peer -> user). Presence counts users, not sockets.
 * The embedded implementation is `MemoryHub`, the clustered one `RedisHub`; every
 * implementation passes `tests/hub/hub_contract.ts`.
 */
import type { StoredMessage, UserRef } from "../storage/repository.ts";
import type { Disconnect } from "../protocol/disconnect.ts";

/** What the hub sees of one chat socket. */
export interface Endpoint {
  /** The user holding the socket. */
  readonly user: UserRef;
  /** The user it chats with. */
  readonly peer: UserRef;
  /** The SHA-256 hash of the token the socket authenticated with. */
  readonly tokenHash: string;
  /** Whether the socket negotiated `chat.v2`: only such endpoints get pushed frames. */
  readonly v2: boolean;
  /** Sends a control frame (presence, and pushed v2 frames). */
  send(frame: string): void;
  /** Offers a stored message from the peer; `frame` is its 30001 encoding, shared by all sockets. */
  deliver(message: StoredMessage, frame: string): void;
  /** Sends the disconnect's frame (when it has one), then closes the socket with its code. */
  terminate(disconnect: Disconnect): void;
  /**
   * Messages from the peer may be stored and not published (the node that stored them died
   * first): read what waits from storage and offer it in order, ahead of later live messages.
   */
  catchUp(): void;
}

/**
 * The peer of an inbox socket (`/v1/inbox`): an inbox endpoint is on the pair
 * (user -> INBOX_PEER), so presence, revocation and erasure treat it as any socket of the user,
 * while no user has id 0, so it has no pair presence (30098/30099) and gets no messages.
 */
export const INBOX_PEER: UserRef = { id: 0, username: "" };

/** What `join` learned. */
export interface JoinResult {
  /** Whether the peer holds a connection on the reverse pair; always false on a note-to-self pair. */
  readonly peerOnline: boolean;
}

/** Which connections are open on which pair, presence events, and fan-out. */
export interface Hub {
  /**
   * Adds an endpoint to its pair. When it is the user's first on the pair and the peer is online,
   * every peer endpoint on the reverse pair is sent 30098 naming the user. A note-to-self pair
   * (user == peer) has no presence frames.
   */
  join(endpoint: Endpoint): Promise<JoinResult>;
  /**
   * Removes an endpoint. When it was the user's last on the pair, every peer endpoint on the
   * reverse pair is sent 30099 naming the user. Removing an unknown endpoint does nothing.
   */
  leave(endpoint: Endpoint): Promise<void>;
  /**
   * Offers a stored message to every endpoint on the pair (to -> from). Returns nothing when it
   * was handed over at once (the in-process hub), so the hot path awaits no promise per message.
   */
  publish(message: StoredMessage, fromUserId: number, toUserId: number): Promise<void> | void;
  /**
   * Sends `frame` to every `v2` endpoint on the pair (userId -> peerId), on every node, except
   * `except` (a local endpoint, e.g. the socket the frame is about). In order with the messages
   * and frames published before it from this node.
   */
  pushToPair(userId: number, peerId: number, frame: string, except?: Endpoint): Promise<void>;
  /** Sends `frame` to every inbox endpoint of the user, on every node. */
  pushToInbox(userId: number, frame: string): Promise<void>;
  /** Terminates, with 30002, every endpoint that authenticated with `tokenHash`. */
  revokeToken(tokenHash: string): Promise<void>;
  /** Whether the user holds an endpoint on the pair (user -> peer), on any node. */
  isOnPair(userId: number, peerId: number): Promise<boolean>;
  /**
   * Whether the user may hold a `v2` endpoint on the pair (user -> peer) on some node, that is,
   * whether a `pushToPair` there may reach anybody: `true` whenever one exists anywhere, `false`
   * only when there is certainly none (`true` when unsure). Every inbox endpoint is `v2`, so on
   * (user -> INBOX_PEER) it asks whether the user may hold an inbox. Answers at once (a boolean)
   * when this process alone can tell (the in-process hub always), so a notification nobody
   * would receive costs no promise; else a promise. `except` is not counted: the socket a frame
   * comes from, which the push skips.
   */
  mayHaveV2OnPair(userId: number, peerId: number, except?: Endpoint): boolean | Promise<boolean>;
  /** Whether the user holds any endpoint, on any node. */
  isOnline(userId: number): Promise<boolean>;
  /**
   * The user was erased: every endpoint of theirs is terminated with 30002, and every endpoint
   * chatting with them with 30003, on every node.
   */
  disconnectUser(userId: number): Promise<void>;
  /** Resolves when the hub can reach what it depends on; rejects when it cannot. */
  ping(): Promise<void>;
  /** How many endpoints are open here. */
  readonly size: number;
  /** Terminates every endpoint with `disconnect` and stops. */
  close(disconnect: Disconnect): Promise<void>;
}

/**
 * Told when a user gets their first endpoint anywhere in the cluster (`online`) or loses their
 * last one (also when their node died and was reaped); exactly one node is told of each change.
 */
export type UserPresenceListener = (userId: number, online: boolean) => void;

/** The hub cannot reach what it depends on (Redis); the client should try again later. */
export class HubUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HubUnavailableError";
  }
}
