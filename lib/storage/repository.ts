/**
 * The storage seam: users, tokens, messages and their delivery state. The embedded
 * implementation is `SqliteRepository`, the clustered one `PostgresRepository`; every
 * implementation passes `tests/storage/repository_contract.ts`.
 *
 * Times are milliseconds since the epoch. Usernames are looked up by their key
 * (`usernameKey()`), computed by the caller, so that every engine matches them alike.
 */
import type { QuotaRefusal, StorageQuota } from "./quota.ts";

export type { QuotaName, QuotaRefusal, StorageQuota } from "./quota.ts";

/** A user as other users see it: its id and registered spelling. */
export interface UserRef {
  readonly id: number;
  readonly username: string;
}

/** A user with its credentials, for login. */
export interface UserRecord extends UserRef {
  /** The scrypt hash; `""` for a user without a password (signed in by JWT). */
  readonly passwordHash: string;
  readonly email: string | null;
  readonly createdAt: number;
  /** When the user last came online or went offline; `null` if never. */
  readonly lastSeenAt: number | null;
}

/** Changes to a user's credentials; an absent field stays as it is. */
export interface UserChanges {
  readonly passwordHash?: string;
  readonly email?: string | null;
}

/** The look-alike keys of a name (`lookalikeKeys()`): a name sharing either is refused. */
export interface UserLookalike {
  readonly skeleton: string;
  readonly folded: string;
}

/** A new user to store. */
export interface NewUser {
  readonly username: string;
  readonly usernameKey: string;
  /** When given, the user is not stored if an existing user shares either key. */
  readonly lookalike?: UserLookalike;
  readonly passwordHash: string;
  readonly email: string | null;
  readonly createdAt: number;
}

/** A new token to store; only its SHA-256 hash is kept. */
export interface NewToken {
  readonly tokenHash: string;
  readonly userId: number;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A valid token and the user it belongs to. */
export interface Session {
  readonly tokenHash: string;
  readonly user: UserRef;
  readonly expiresAt: number;
}

/** A message as stored. */
export interface StoredMessage {
  readonly messageId: number;
  readonly fromUser: string;
  readonly toUser: string;
  readonly msg: string;
  readonly sendTime: string;
  /** Its sender recalled it: `msg` is "" (the text is erased). Set only when true. */
  readonly recalled?: boolean;
}

/** A message to store. `clientId` makes a resend from the same sender to the same peer a no-op. */
export interface NewMessage {
  readonly from: UserRef;
  readonly to: UserRef;
  readonly msg: string;
  readonly sendTime: string;
  readonly sentAt: number;
  readonly clientId: string | null;
  /**
   * Webhook events to record with the message, in the same transaction, when it is stored (not
   * for a duplicate). Absent: none.
   */
  readonly events?: readonly MessageEventType[];
}

/** The webhook events a stored message can cause. */
export type MessageEventType = "message.waiting" | "message.created";

/** A user came online (first socket anywhere) or went offline (last socket closed). */
export interface PresenceChange {
  readonly userId: number;
  readonly online: boolean;
  readonly at: number;
  /** Whether to record the `user.online` / `user.offline` webhook event with it. */
  readonly event: boolean;
}

/** An API key of the admin API; only its SHA-256 is stored. */
export interface NewApiKey {
  readonly name: string;
  readonly keyHash: string;
  readonly createdAt: number;
}

/** A stored API key, as listed. */
export interface ApiKeyRecord {
  readonly name: string;
  readonly createdAt: number;
}

/** A webhook event claimed for sending, with what its body is made of. */
export interface ClaimedEvent {
  /** Its place in the outbox: events of one user are sent in this order. */
  readonly seq: number;
  /** The event's id (`Chat-Event-Id`). */
  readonly eventId: string;
  readonly type: string;
  readonly createdAt: number;
  /** Attempts made before this one. */
  readonly attempts: number;
  /** The message of a `message.*` event. */
  readonly message: StoredMessage | null;
  /** The user of a `user.*` event. */
  readonly user: { readonly username: string; readonly lastSeenAt: number | null } | null;
}

/** What `claimWebhookEvents` takes. */
export interface ClaimRequest {
  readonly now: number;
  /** The claim holds until then; afterwards another sender may claim the event. */
  readonly leaseUntil: number;
  /** Who claims (a node id), so that only its claim can complete the event. */
  readonly owner: string;
  readonly limit: number;
}

/** How an attempt to send a claimed event ended. */
export type EventOutcome =
  | { readonly kind: "sent" }
  | { readonly kind: "retry"; readonly nextAttemptAt: number; readonly error: string }
  | { readonly kind: "failed"; readonly error: string };

/** The outbox's backlog, for metrics. */
export interface OutboxBacklog {
  readonly pending: number;
  /** When the oldest pending event was created; `null` when none is pending. */
  readonly oldestCreatedAt: number | null;
}

/** The stored message, and whether it had been stored before under the same client id. */
export interface SaveResult {
  readonly message: StoredMessage;
  readonly duplicate: boolean;
}

/** A message over its sender's quota (`saveMessages` with a quota): not stored. */
export interface QuotaRefused {
  readonly refused: QuotaRefusal;
}

/** What became of one message given to `saveMessages` with a quota. */
export type SaveOutcome = SaveResult | QuotaRefused;

/** A page request over a conversation, newest first. */
export interface HistoryQuery {
  readonly limit: number;
  /** Only messages with a smaller id; absent for the newest page. */
  readonly beforeId?: number;
}

/** One conversation as its owner's list shows it. */
export interface ConversationRecord {
  readonly peer: UserRef;
  /** When the peer last came online or went offline; `null` if never. */
  readonly peerLastSeenAt: number | null;
  /** Messages from the peer after the owner's read marker. */
  readonly unread: number;
  /** The owner's read marker: the highest id of the peer's messages the owner read (0: none). */
  readonly readUpto: number;
  /** The peer's read marker of the owner's messages (0: none). */
  readonly peerReadUpto: number;
  /** The newest message either way. */
  readonly lastMessage: StoredMessage;
}

/** A page request over a user's conversations, most recent activity first. */
export interface ConversationQuery {
  readonly limit: number;
  /** Only conversations whose last message id is smaller; absent for the first page. */
  readonly beforeId?: number;
}

/** What `markRead` did: `null` from it means the id is no message from the peer to the reader. */
export interface ReadMark {
  /** Whether the marker moved (it only moves forward). */
  readonly moved: boolean;
  /** The reader's marker now. */
  readonly readUpto: number;
  /** Messages from the peer after it. */
  readonly unread: number;
}

/** A search in a conversation: the messages containing `text`, paged like history. */
export interface SearchQuery extends HistoryQuery {
  /** What the messages contain, matched case-insensitively; at least one character. */
  readonly text: string;
}

/** A sender recalling a message of theirs (`recallMessage`). */
export interface RecallRequest {
  readonly messageId: number;
  /** Who recalls: only the message's sender may. */
  readonly senderId: number;
  /** When given, only a message to this user may be recalled (a recall on a pair's socket). */
  readonly toUserId?: number;
  /** Only a message stored (`sentAt`) at or after this time may be recalled (the window). */
  readonly notBefore: number;
  /** Now, recorded as the time of the recall. */
  readonly at: number;
}

/** What became of a recall. */
export type RecallOutcome =
  | {
    readonly kind: "recalled";
    /** The message as it is now: `msg` "" and `recalled` true. */
    readonly message: StoredMessage;
    readonly fromUserId: number;
    readonly toUserId: number;
    /** It had been recalled before (nothing changed this time). */
    readonly already: boolean;
  }
  | { readonly kind: "refused"; readonly reason: RecallRefusal };

/** Why a recall was refused: no message of the sender's (to that user), or past the window. */
export type RecallRefusal = "not_yours" | "too_late";

/** Users, tokens and messages. Every method may throw on a storage failure. */
export interface Repository {
  /**
   * Stores a user; `null` when the key is taken, or when `lookalike` is given and an existing
   * user shares either of its keys (decided atomically with the insert).
   */
  createUser(user: NewUser): Promise<UserRef | null>;
  /** Finds a user by its key; `null` when there is none. */
  findUser(usernameKey: string): Promise<UserRecord | null>;
  /** Stores a token hash. */
  createToken(token: NewToken): Promise<void>;
  /** Finds the session of a token hash that expires after `now`; `null` otherwise. */
  findSession(tokenHash: string, now: number): Promise<Session | null>;
  /** Deletes a token hash; `false` when there was none. */
  deleteToken(tokenHash: string): Promise<boolean>;
  /** Deletes the tokens that expired at or before `now`; returns how many. */
  deleteExpiredTokens(now: number): Promise<number>;
  /**
   * Stores messages in the order given, in one transaction: all or none. Results are in the
   * same order. A message with the client id of one stored before (or earlier in the batch)
   * from the same sender to the same peer is not stored again: its result is the stored one,
   * marked `duplicate`. A sender's frames are stored this way so that they keep their order on
   * every engine while several are in flight.
   */
  saveMessages(messages: readonly NewMessage[]): Promise<SaveResult[]>;
  /**
   * As `saveMessages`, within `quota` (see `quota.ts`), checked and charged in the same
   * transaction: a message over a quota is not stored and its outcome says which
   * (`QuotaRefused`); nor is any later message of the batch, so that none overtakes it. A
   * resend of a stored client id is never refused or charged: its outcome is the stored
   * message, marked `duplicate`. A quota of 0 is off.
   */
  saveMessagesWithin(messages: readonly NewMessage[], quota: StorageQuota): Promise<SaveOutcome[]>;
  /** Marks messages as delivered. */
  markDelivered(messageIds: readonly number[]): Promise<void>;
  /**
   * The delivered cursor of a conversation: the highest id N such that every message from
   * `senderId` to `receiverId` up to N was delivered (0: none). Read from the waiting index,
   * so delivering a message writes nothing more than its flag.
   */
  deliveredUpto(receiverId: number, senderId: number): Promise<number>;
  /**
   * The user's conversations (one exists once a message went either way), most recent activity
   * first (by last message id), one indexed query.
   */
  conversations(userId: number, query: ConversationQuery): Promise<ConversationRecord[]>;
  /** One conversation of the user; `null` when no message went either way. */
  conversation(userId: number, peerId: number): Promise<ConversationRecord | null>;
  /** The ids of the users the user has a conversation with (not the user themself). */
  conversationPeers(userId: number): Promise<number[]>;
  /**
   * Moves the reader's marker of the conversation with `peerId` forward to `messageId`, which
   * must be a message from the peer to the reader (else `null`); a marker already at or past it
   * stays.
   */
  markRead(readerId: number, peerId: number, messageId: number): Promise<ReadMark | null>;
  /**
   * Messages from `fromUserId` to `toUserId` not yet delivered, with an id above `afterId`,
   * oldest first, at most `limit`.
   */
  waitingMessages(
    toUserId: number,
    fromUserId: number,
    afterId: number,
    limit: number,
  ): Promise<StoredMessage[]>;
  /**
   * How many messages from `fromUserId` wait for `toUserId` (those `waitingMessages` returns),
   * counted up to `limit`: what the waiting quota holds against.
   */
  waitingCount(toUserId: number, fromUserId: number, limit: number): Promise<number>;
  /** The conversation between two users in both directions, newest first. */
  history(userId: number, peerId: number, query: HistoryQuery): Promise<StoredMessage[]>;
  /**
   * The messages of the conversation (both directions) whose text contains `query.text`,
   * case-insensitively, newest first, paged as `history` pages.
   */
  searchMessages(userId: number, peerId: number, query: SearchQuery): Promise<StoredMessage[]>;
  /**
   * Recalls a message, atomically: within the request's bounds its text is erased from storage
   * and from the search index (`msg` becomes "", kept as a recalled item in history), it no
   * longer waits to be delivered or counts against the waiting quota, and its pending webhook
   * events are dropped. A message recalled before answers `recalled` again with `already`.
   */
  recallMessage(request: RecallRequest): Promise<RecallOutcome>;
  /** Changes a user's password hash or email. */
  updateUser(userId: number, changes: UserChanges): Promise<void>;
  /**
   * Erases a user: their tokens, every message they sent or received, the webhook events about
   * them, and the user. Returns how many messages went; `null` when there was no such user.
   */
  deleteUser(userId: number): Promise<{ readonly messages: number } | null>;
  /** Records a presence change (`lastSeenAt`) and, when asked, its webhook event, together. */
  recordPresence(change: PresenceChange): Promise<void>;
  /** Stores an API key; `false` when the name is taken. */
  createApiKey(key: NewApiKey): Promise<boolean>;
  /** The API key with this hash; `null` when there is none. */
  findApiKey(keyHash: string): Promise<ApiKeyRecord | null>;
  /** Every API key, by name. */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Deletes an API key by name; `false` when there was none. */
  deleteApiKey(name: string): Promise<boolean>;
  /**
   * Claims up to `limit` pending webhook events that are due, each the oldest pending event of
   * its user and not claimed by another sender whose claim still holds. Claims are exclusive
   * across every node until `leaseUntil`.
   */
  claimWebhookEvents(request: ClaimRequest): Promise<ClaimedEvent[]>;
  /**
   * Ends an attempt of `owner`'s claim: `sent` removes the event, `retry` schedules it again,
   * `failed` keeps it as failed (no longer sent). `false` when the claim was no longer `owner`'s.
   */
  settleWebhookEvent(seq: number, owner: string, outcome: EventOutcome): Promise<boolean>;
  /** How many webhook events are pending, and since when. */
  webhookBacklog(): Promise<OutboxBacklog>;
  /** Resolves when the storage answers a trivial query; rejects when it cannot be reached. */
  ping(): Promise<void>;
  /**
   * Writes one row (the time of the probe): resolves when a write is committed, rejects when
   * the storage can be read but not written (disk full, read-only). Used by `/readyz`.
   */
  probeWrite(at: number): Promise<void>;
  /** Releases the storage; later calls fail. */
  close(): Promise<void>;
}
