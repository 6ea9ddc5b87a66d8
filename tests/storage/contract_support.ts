/** What every repository contract suite shares: the test shape and a user to store with. */
import assert from "node:assert/strict";
import type { Repository, UserRef } from "../../lib/storage/repository.ts";
import { usernameKey } from "../../lib/users/username.ts";

/** Noon (UTC) of the day the suites store their messages on. */
export const CONTRACT_NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

/** Registers one behaviour of a suite, run against a fresh repository of each backend. */
export type ContractTest = (behaviour: string, body: (repo: Repository) => Promise<void>) => void;

/** Stores a user under the key of `username`, failing the test if the key is taken. */
export async function addUser(repo: Repository, username: string): Promise<UserRef> {
  const user = await repo.createUser({
    username,
    usernameKey: usernameKey(username),
    passwordHash: `hash-of-${username}`,
    email: null,
    createdAt: CONTRACT_NOW,
  });
  assert.ok(user !== null, `User ${username} should be created`);
  return user;
}
