/**
 * The one seam every token passes through, on the chat socket and on HTTP alike: a chat token
 * (a login's or the admin API's, looked up by its SHA-256) or, when JWT sign-in is configured,
 * the app's JWT (verified, its `sub` user created on first use). Callers get a `Session` and
 * never learn which kind of token it was.
 */
import { hashToken } from "./token.ts";
import { looksLikeJwt } from "./jwt_verdict.ts";
import type { JwtVerifier } from "./jwt_verdict.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import { lookalikeKeys } from "../users/lookalike.ts";
import type { Repository, Session, UserRef } from "../storage/repository.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../time.ts";

/** Turns a presented token into a session. */
export interface Authenticator {
  /** The session of a token, or `null` when it is missing, unknown, revoked, expired or invalid. */
  authenticate(token: string | null): Promise<Session | null>;
  /** Whether a session found earlier still holds: its token not revoked, its user not erased. */
  stillValid(session: Session): Promise<boolean>;
}

/** What the authenticator needs. */
export interface SessionAuthenticatorOptions {
  readonly repository: Repository;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** Verifies the app's JWTs; absent when no JWT setting is set (then a JWT is unknown). */
  readonly jwt?: JwtVerifier;
}

// A chat token is a UUID; a JWT carries claims and a signature, but never this much.
const MAX_CHAT_TOKEN_CHARS = 256;
const MAX_JWT_CHARS = 8192;

/** Chat tokens from the repository, and the app's JWTs when configured. */
export class SessionAuthenticator implements Authenticator {
  readonly #repository: Repository;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #jwt: JwtVerifier | undefined;
  // Sessions that came from a JWT: valid while their user exists (no row of their own).
  readonly #fromJwt = new WeakSet<Session>();

  constructor(options: SessionAuthenticatorOptions) {
    this.#repository = options.repository;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#jwt = options.jwt;
  }

  authenticate(token: string | null): Promise<Session | null> {
    if (token === null || token === "") return Promise.resolve(null);
    if (this.#jwt !== undefined && looksLikeJwt(token)) {
      return token.length > MAX_JWT_CHARS
        ? Promise.resolve(this.#refused("malformed"))
        : this.#fromToken(this.#jwt, token);
    }
    if (token.length > MAX_CHAT_TOKEN_CHARS) return Promise.resolve(null);
    return this.#repository.findSession(hashToken(token), this.#clock());
  }

  async stillValid(session: Session): Promise<boolean> {
    if (!this.#fromJwt.has(session)) {
      return (await this.#repository.findSession(session.tokenHash, this.#clock())) !== null;
    }
    const user = await this.#repository.findUser(usernameKey(session.user.username));
    return user !== null && user.id === session.user.id && session.expiresAt > this.#clock();
  }

  async #fromToken(jwt: JwtVerifier, token: string): Promise<Session | null> {
    const verdict = await jwt.verify(token);
    if (!verdict.ok) return this.#refused(verdict.reason);
    const name = checkUsername(verdict.subject);
    if (!name.ok) return this.#refused("bad_subject");
    const user = await this.#userOnFirstUse(name.username);
    if (user === null) return this.#refused("lookalike_subject");
    const session: Session = { tokenHash: hashToken(token), user, expiresAt: verdict.expiresAt };
    this.#fromJwt.add(session);
    return session;
  }

  /**
   * The user a JWT names, created without a password when it signs in for the first time;
   * `null` when the name is new but looks like an existing user's (refused like a registration).
   */
  async #userOnFirstUse(username: string): Promise<UserRef | null> {
    const key = usernameKey(username);
    for (;;) {
      const found = await this.#repository.findUser(key);
      if (found !== null) return { id: found.id, username: found.username };
      const created = await this.#repository.createUser({
        username,
        usernameKey: key,
        lookalike: lookalikeKeys(username),
        passwordHash: "",
        email: null,
        createdAt: this.#clock(),
      });
      if (created !== null) {
        this.#log.info("auth.jwt_user_created", { user: created.username });
        return created;
      }
      // Created at the same moment by another request (read it again), or refused as a
      // look-alike of an existing user.
      if ((await this.#repository.findUser(key)) === null) return null;
    }
  }

  #refused(reason: string): null {
    this.#log.warn("auth.jwt_rejected", { reason });
    this.#metrics?.authFailures.inc({ kind: "jwt" });
    return null;
  }
}
