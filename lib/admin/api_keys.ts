/**
 * API keys of the admin API: random, shown once, stored only as their SHA-256. A key is not a
 * chat token and a chat token is not a key: each is looked up only in its own table.
 */
import { randomBytes } from "node:crypto";
import { hashToken } from "../auth/token.ts";
import type { ApiKeyRecord, Repository } from "../storage/repository.ts";
import type { Clock } from "../time.ts";

/** Every key starts with this, so that a leaked one is recognisable (e.g. by secret scanners). */
export const API_KEY_PREFIX = "chatk_";
const KEY_BYTES = 32;
const NAME_PATTERN = /^[A-Za-z0-9_.\-]{1,64}$/;

/** A new random API key. */
export function newApiKey(): string {
  return API_KEY_PREFIX + randomBytes(KEY_BYTES).toString("base64url");
}

/** The outcome of adding a key. */
export type AddKeyResult =
  | { readonly ok: true; readonly key: string }
  | { readonly ok: false; readonly reason: string };

/** The API keys, over the repository. */
export class ApiKeys {
  readonly #repository: Repository;
  readonly #clock: Clock;

  constructor(repository: Repository, clock: Clock) {
    this.#repository = repository;
    this.#clock = clock;
  }

  /** Creates a key named `name`; the key is in the result and nowhere else. */
  async add(name: string): Promise<AddKeyResult> {
    if (!NAME_PATTERN.test(name)) {
      return { ok: false, reason: "a key name is 1 to 64 of A-Z, a-z, 0-9, _ . -" };
    }
    const key = newApiKey();
    const created = await this.#repository.createApiKey({
      name,
      keyHash: hashToken(key),
      createdAt: this.#clock(),
    });
    return created ? { ok: true, key } : { ok: false, reason: `a key named ${name} exists` };
  }

  /** Every key, by name (never the key itself). */
  list(): Promise<ApiKeyRecord[]> {
    return this.#repository.listApiKeys();
  }

  /** Deletes the key named `name`; `false` when there is none. */
  revoke(name: string): Promise<boolean> {
    return this.#repository.deleteApiKey(name);
  }

  /** The key presented, if it is one; `null` otherwise. */
  authenticate(key: string | null): Promise<ApiKeyRecord | null> {
    if (key === null || !key.startsWith(API_KEY_PREFIX) || key.length > 128) {
      return Promise.resolve(null);
    }
    return this.#repository.findApiKey(hashToken(key));
  }
}
