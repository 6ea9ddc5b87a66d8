/**
 * The storage seam: users, tokens, messages and their delivery state. The embedded
 * implementation is `SqliteRepository`, the clustered one `PostgresRepository`; every
 * implementation passes `tests/storage/repository_contract.ts`.
 *
 * Times are milliseconds since the epoch. Usernames are looked up by their key
 * (`usernameKey()`), computed by the caller, so that every engine matches them alike.
 */

/** A user as other users see it: its id and registered spelling. */
export interface UserRef {
  readonly id: number;
  readonly username: string;
}

/** A user with its credentials, for login. */
export interface UserRecord extends UserRef {
  readonly passwordHash: string;
  readonly email: string | null;
  readonly createdAt: number;
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
}

/** A message to store. `clientId` makes a resend from the same sender to the same peer a no-op. */
export interface NewMessage {
  readonly from: UserRef;
  readonly to: UserRef;
  readonly msg: string;
  readonly sendTime: string;
  readonly sentAt: number;
  readonly clientId: string | null;
}

/** The stored message, and whether it had been stored before under the same client id. */
export interface SaveResult {
  readonly message: StoredMessage;
  readonly duplicate: boolean;
}

/** A page request over a conversation, newest first. */
export interface HistoryQuery {
  readonly limit: number;
  /** Only messages with a smaller id; absent for the newest page. */
  readonly beforeId?: number;
}

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
  /** Marks messages as delivered. */
  markDelivered(messageIds: readonly number[]): Promise<void>;
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
  /** The conversation between two users in both directions, newest first. */
  history(userId: number, peerId: number, query: HistoryQuery): Promise<StoredMessage[]>;
  /** Resolves when the storage answers a trivial query; rejects when it cannot be reached. */
  ping(): Promise<void>;
  /** Releases the storage; later calls fail. */
  close(): Promise<void>;
}
