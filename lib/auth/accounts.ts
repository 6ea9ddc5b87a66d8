/** Registration, login, logout and token authentication, on top of a `Repository`. */
import { hashPassword, verifyPassword } from "./password.ts";
import { hashToken, newToken } from "./token.ts";
import { isDeviceToken, issueDeviceToken } from "./device_token.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import { lookalikeKeys } from "../users/lookalike.ts";
import { countCodePoints } from "../protocol/text.ts";
import type { Repository, Session, UserRef } from "../storage/repository.ts";
import type { Clock } from "../time.ts";
import { silentLogger } from "../log.ts";
import { type Authenticator, SessionAuthenticator } from "./authenticator.ts";

/** Why a name that looks like an existing user's is refused. */
export const LOOKALIKE_REASON = "looks like an existing username";

/** Password length bounds, in characters. */
export const PASSWORD_CHARS = { min: 8, max: 128 } as const;
const MAX_EMAIL_CHARS = 254;
// Deliberately loose: one `@`, something on both sides, a dot in the domain, no spaces.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;

/** A field that failed validation, and why. */
export interface FieldError {
  readonly field: string;
  readonly reason: string;
}

/** The outcome of a registration. */
export type RegisterResult =
  | { readonly ok: true; readonly user: UserRef }
  /** `lookalike`: no one has the name, but an existing user's name looks like it. */
  | { readonly ok: false; readonly taken: true; readonly lookalike: boolean }
  | { readonly ok: false; readonly taken: false; readonly error: FieldError };

/** The outcome of `ensureUser`: created or found (and updated), or a field that failed. */
export type EnsureResult =
  | { readonly ok: true; readonly created: boolean; readonly user: UserRef }
  | { readonly ok: false; readonly error: FieldError };

/** A token and when it expires. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresAt: number;
  /** With a password login: the device token for the next logins from this device. */
  readonly device?: string;
}

/** Options of the account service. */
export interface AccountsOptions {
  readonly repository: Repository;
  readonly clock: Clock;
  readonly tokenTtlMs: number;
  /** Password hashing; scrypt by default (replaceable so tests can count the work done). */
  readonly passwords?: PasswordHasher;
  /** How tokens become sessions; chat tokens only (no JWT) by default. */
  readonly authenticator?: Authenticator;
}

/** Hashes and verifies passwords. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}

const SCRYPT: PasswordHasher = { hash: hashPassword, verify: verifyPassword };

function checkPassword(password: unknown): FieldError | null {
  if (password === undefined || password === null) {
    return { field: "password", reason: "is required" };
  }
  if (typeof password !== "string") return { field: "password", reason: "must be a string" };
  const length = countCodePoints(password);
  if (length < PASSWORD_CHARS.min || length > PASSWORD_CHARS.max) {
    return {
      field: "password",
      reason: `must be ${PASSWORD_CHARS.min} to ${PASSWORD_CHARS.max} characters`,
    };
  }
  if (!password.isWellFormed()) return { field: "password", reason: "is not valid Unicode" };
  return null;
}

function checkEmail(email: unknown): FieldError | string | null {
  if (email === undefined || email === null) return null;
  if (typeof email !== "string") return { field: "email", reason: "must be a string" };
  if (email.length > MAX_EMAIL_CHARS || !EMAIL_PATTERN.test(email)) {
    return { field: "email", reason: "must be an email address" };
  }
  return email;
}

/** Accounts: who may chat, and with which token. */
export class Accounts implements Authenticator {
  readonly #repository: Repository;
  readonly #clock: Clock;
  readonly #tokenTtlMs: number;
  readonly #passwords: PasswordHasher;
  readonly #authenticator: Authenticator;
  // Verified against when a login names no user, so that a wrong name costs what a wrong
  // password costs and response times do not reveal which names exist.
  #decoyHash: Promise<string> | null = null;

  constructor(options: AccountsOptions) {
    this.#repository = options.repository;
    this.#clock = options.clock;
    this.#tokenTtlMs = options.tokenTtlMs;
    this.#passwords = options.passwords ?? SCRYPT;
    this.#authenticator = options.authenticator ??
      new SessionAuthenticator({
        repository: this.#repository,
        clock: this.#clock,
        log: silentLogger,
      });
  }

  /** Registers a user from an untrusted `{username, password, email?}` object. */
  async register(input: Record<string, unknown>): Promise<RegisterResult> {
    const name = checkUsername(input.username);
    if (!name.ok) {
      return { ok: false, taken: false, error: { field: "username", reason: name.reason } };
    }
    const passwordError = checkPassword(input.password);
    if (passwordError) return { ok: false, taken: false, error: passwordError };
    const email = checkEmail(input.email);
    if (email !== null && typeof email !== "string") {
      return { ok: false, taken: false, error: email };
    }
    const key = usernameKey(name.username);
    // Cheap pre-check so that a taken name does not cost a hash; the insert still decides.
    if (await this.#repository.findUser(key)) return { ok: false, taken: true, lookalike: false };
    const user = await this.#repository.createUser({
      username: name.username,
      usernameKey: key,
      lookalike: lookalikeKeys(name.username),
      passwordHash: await this.#passwords.hash(input.password as string),
      email,
      createdAt: this.#clock(),
    });
    if (user !== null) return { ok: true, user };
    // Not stored: the same name inserted meanwhile, or (mostly) a look-alike of an existing one.
    const same = await this.#repository.findUser(key);
    return { ok: false, taken: true, lookalike: same === null };
  }

  /**
   * Makes sure the user `name` exists, for the admin API: created when missing (without a
   * password unless one is given), else its password and email changed where given.
   */
  async ensureUser(name: unknown, input: Record<string, unknown>): Promise<EnsureResult> {
    const checked = checkUsername(name);
    if (!checked.ok) return { ok: false, error: { field: "username", reason: checked.reason } };
    const hasPassword = input.password !== undefined && input.password !== null;
    const passwordError = hasPassword ? checkPassword(input.password) : null;
    if (passwordError) return { ok: false, error: passwordError };
    const email = checkEmail(input.email);
    if (email !== null && typeof email !== "string") return { ok: false, error: email };
    const passwordHash = hasPassword ? await this.#passwords.hash(input.password as string) : "";
    const key = usernameKey(checked.username);
    for (;;) {
      const found = await this.#repository.findUser(key);
      if (found !== null) {
        const changes = {
          ...(hasPassword ? { passwordHash } : {}),
          ...(input.email !== undefined ? { email } : {}),
        };
        if (Object.keys(changes).length > 0) await this.#repository.updateUser(found.id, changes);
        return { ok: true, created: false, user: { id: found.id, username: found.username } };
      }
      const user = await this.#repository.createUser({
        username: checked.username,
        usernameKey: key,
        lookalike: lookalikeKeys(checked.username),
        passwordHash,
        email,
        createdAt: this.#clock(),
      });
      if (user !== null) return { ok: true, created: true, user };
      // Not stored: created at the same moment elsewhere (then update that one), or refused as
      // a look-alike of an existing user.
      if ((await this.#repository.findUser(key)) === null) {
        return { ok: false, error: { field: "username", reason: LOOKALIKE_REASON } };
      }
    }
  }

  /**
   * Issues a token (and a device token) for a name and password; `null` when either is wrong.
   * `knownDevice` is the device token the client showed, kept when valid.
   */
  async login(
    username: unknown,
    password: unknown,
    knownDevice: unknown = null,
  ): Promise<IssuedToken | null> {
    const name = checkUsername(username);
    const user = name.ok ? await this.#repository.findUser(usernameKey(name.username)) : null;
    const candidate = typeof password === "string" ? password : "";
    // No user, or one signed in by JWT only (no password): the same work as a wrong password.
    if (user === null || user.passwordHash === "") {
      await this.#passwords.verify(candidate, await this.#decoy());
      return null;
    }
    if (!(await this.#passwords.verify(candidate, user.passwordHash))) return null;
    // A device that showed a valid device token keeps it; others get a new one.
    const device = typeof knownDevice === "string" && isDeviceToken(knownDevice, user.passwordHash)
      ? knownDevice
      : issueDeviceToken(user.passwordHash);
    return { ...(await this.issueToken(user)), device };
  }

  /** Issues a chat token for a user, valid for `ttlMs` (`TOKEN_TTL` by default). */
  async issueToken(user: UserRef, ttlMs = this.#tokenTtlMs): Promise<IssuedToken> {
    const token = newToken();
    const now = this.#clock();
    const expiresAt = now + ttlMs;
    await this.#repository.createToken({
      tokenHash: hashToken(token),
      userId: user.id,
      createdAt: now,
      expiresAt,
    });
    return { token, expiresAt };
  }

  /** Whether `device` is a device token of the user named `username` (a known device). */
  async isKnownDevice(username: unknown, device: unknown): Promise<boolean> {
    if (typeof device !== "string" || device === "") return false;
    const name = checkUsername(username);
    const user = name.ok ? await this.#repository.findUser(usernameKey(name.username)) : null;
    return user !== null && isDeviceToken(device, user.passwordHash);
  }

  /**
   * The session of a chat token or the app's JWT, or `null` when it is missing, unknown,
   * revoked, expired or invalid (through the `Authenticator`).
   */
  authenticate(token: string | null): Promise<Session | null> {
    return this.#authenticator.authenticate(token);
  }

  /** Whether a session found earlier still holds. */
  stillValid(session: Session): Promise<boolean> {
    return this.#authenticator.stillValid(session);
  }

  /** Revokes a token; resolves with the session it was, or `null` when it was not valid. */
  async logout(token: string | null): Promise<Session | null> {
    const session = await this.authenticate(token);
    if (session === null) return null;
    await this.#repository.deleteToken(session.tokenHash);
    return session;
  }

  /** Deletes expired tokens; returns how many. */
  purgeExpiredTokens(): Promise<number> {
    return this.#repository.deleteExpiredTokens(this.#clock());
  }

  #decoy(): Promise<string> {
    this.#decoyHash ??= this.#passwords.hash(newToken());
    return this.#decoyHash;
  }
}
