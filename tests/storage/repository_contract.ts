/**
 * The conformance suite every `Repository` passes, SQLite and PostgreSQL alike. It uses only the
 * interface: each test gets a fresh, empty repository from `open` and cleans it up after.
 */
import assert from "node:assert/strict";
import type { NewMessage, Repository, SaveResult, UserRef } from "../../lib/storage/repository.ts";
import { StorageUnavailableError } from "../../lib/storage/errors.ts";
import { usernameKey } from "../../lib/users/username.ts";
import { appTablesContract } from "./app_tables_contract.ts";
import { quotaContract } from "./quota_contract.ts";
import { conversationContract } from "./conversation_contract.ts";
import { searchContract } from "./search_contract.ts";
import { recallContract } from "./recall_contract.ts";
import { addUser } from "./contract_support.ts";

const HOUR_MS = 3_600_000;
const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

let sendSecond = 0;

/** A message from `from` to `to` without a client id, sent at a distinct second. */
function newMessage(
  from: UserRef,
  to: UserRef,
  msg: string,
  clientId: string | null = null,
): NewMessage {
  sendSecond = (sendSecond + 1) % 60;
  return {
    from,
    to,
    msg,
    sendTime: `2024-05-01 12:00:${String(sendSecond).padStart(2, "0")}`,
    sentAt: NOW + sendSecond * 1000,
    clientId,
  };
}

/** Saves one message, as a batch of one. */
export async function saveOne(repo: Repository, message: NewMessage): Promise<SaveResult> {
  const [saved] = await repo.saveMessages([message]);
  return saved;
}

/** Saves messages in order and returns their ids. */
async function saveAll(repo: Repository, messages: readonly NewMessage[]): Promise<number[]> {
  const ids: number[] = [];
  for (const message of messages) ids.push((await saveOne(repo, message)).message.messageId);
  return ids;
}

/** A write lock held from another connection, as another process's transaction would. */
export interface HeldWriteLock {
  /** Ends the other connection's transaction, so writes go through again. */
  release(): Promise<void>;
}

/** A fresh, empty repository for one contract test, and what the test may do to its storage. */
export interface ContractFixture {
  readonly repo: Repository;
  /**
   * Takes, from another connection to the same storage, the lock every write needs, and holds
   * it until released. The repository must be set to wait for a lock only briefly (a short
   * busy or lock timeout), so that a write meanwhile fails rather than waits.
   */
  holdWriteLock(): Promise<HeldWriteLock>;
  /** Removes what `open` made; must also work after the test closed the repository itself. */
  cleanup(): Promise<void>;
}

/** Asserts that `promise` rejects with `StorageUnavailableError` keeping the engine's error. */
async function assertUnavailable(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StorageUnavailableError, `${what}: ${error}`);
    assert.ok(error.cause instanceof Error, `${what} keeps the engine's error as its cause`);
    return true;
  });
}

/** Registers the repository conformance tests. `open` makes a fresh fixture for each. */
export function repositoryContract(name: string, open: () => Promise<ContractFixture>): void {
  function contractTest(
    behaviour: string,
    body: (repo: Repository, fixture: ContractFixture) => Promise<void>,
  ): void {
    Deno.test(`${name}: ${behaviour}`, async () => {
      const fixture = await open();
      try {
        await body(fixture.repo, fixture);
      } finally {
        await fixture.cleanup();
      }
    });
  }

  // Users.

  contractTest("a created user is found by its key with every field", async (repo) => {
    const created = await repo.createUser({
      username: "Tom",
      usernameKey: "tom",
      passwordHash: "scrypt$16384$8$1$c2FsdA==$a2V5",
      email: "tom@example.com",
      createdAt: NOW,
    });
    assert.ok(created !== null);
    assert.ok(Number.isSafeInteger(created.id));
    assert.equal(created.username, "Tom");
    assert.deepEqual(await repo.findUser("tom"), {
      id: created.id,
      username: "Tom",
      passwordHash: "scrypt$16384$8$1$c2FsdA==$a2V5",
      email: "tom@example.com",
      createdAt: NOW,
      lastSeenAt: null,
    });
  });

  contractTest("a user without an email is found with a null email", async (repo) => {
    const jack = await addUser(repo, "Jack");
    const found = await repo.findUser("jack");
    assert.equal(found?.id, jack.id);
    assert.equal(found?.email, null);
  });

  contractTest("users get distinct ids", async (repo) => {
    const ids = new Set<number>();
    for (const username of ["Tom", "Jack", "Alice", "Bob"]) {
      ids.add((await addUser(repo, username)).id);
    }
    assert.equal(ids.size, 4);
  });

  contractTest(
    "a user sharing a look-alike key with an existing one is not stored",
    async (repo) => {
      const user = (username: string, skeleton: string, folded: string) =>
        repo.createUser({
          username,
          usernameKey: usernameKey(username),
          passwordHash: "x",
          email: null,
          createdAt: NOW,
          lookalike: { skeleton, folded },
        });
      assert.ok((await user("Tom", "torn", "torn")) !== null);
      assert.equal(await user("Тоm", "torn", "ᴛorn"), null); // the same skeleton
      assert.equal(await user("TİM", "tl̇rn", "torn"), null); // the same folded key
      assert.equal(await repo.findUser(usernameKey("Тоm")), null);
      assert.ok((await user("Jack", "jack", "jack")) !== null);
      // A user stored without keys (before they existed) blocks nothing and is not blocked.
      assert.ok((await addUser(repo, "Torn")) !== null);
      assert.ok((await user("Tim", "tirn", "tirn")) !== null);
    },
  );

  contractTest("a taken username key returns null", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const again = await repo.createUser({
      username: "tom",
      usernameKey: "tom",
      passwordHash: "another hash",
      email: "other@example.com",
      createdAt: NOW + 1,
    });
    assert.equal(again, null);
    // The first registration is kept as it was, spelling included.
    const found = await repo.findUser("tom");
    assert.equal(found?.id, tom.id);
    assert.equal(found?.username, "Tom");
    assert.equal(found?.passwordHash, "hash-of-Tom");
    assert.equal(found?.email, null);
  });

  contractTest("findUser returns null for an unknown key", async (repo) => {
    assert.equal(await repo.findUser("nobody"), null);
    await addUser(repo, "Tom");
    assert.equal(await repo.findUser("nobody"), null);
    // Keys match exactly: the caller normalises, the repository does not.
    assert.equal(await repo.findUser("Tom"), null);
  });

  // Tokens.

  contractTest("a token's session names its user and expiry", async (repo) => {
    const tom = await addUser(repo, "Tom");
    await repo.createToken({
      tokenHash: "hash-1",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    assert.deepEqual(await repo.findSession("hash-1", NOW), {
      tokenHash: "hash-1",
      user: { id: tom.id, username: "Tom" },
      expiresAt: NOW + HOUR_MS,
    });
    assert.equal((await repo.findSession("hash-1", NOW + HOUR_MS - 1))?.user.id, tom.id);
  });

  contractTest("findSession returns null for an unknown token", async (repo) => {
    const tom = await addUser(repo, "Tom");
    await repo.createToken({
      tokenHash: "known",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    assert.equal(await repo.findSession("unknown", NOW), null);
  });

  contractTest("an expired token has no session", async (repo) => {
    const tom = await addUser(repo, "Tom");
    await repo.createToken({
      tokenHash: "old",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    assert.equal(await repo.findSession("old", NOW + 2 * HOUR_MS), null);
  });

  contractTest("a token exactly at its expiry has no session", async (repo) => {
    const tom = await addUser(repo, "Tom");
    await repo.createToken({
      tokenHash: "edge",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    assert.equal(await repo.findSession("edge", NOW + HOUR_MS), null);
  });

  contractTest("a user may hold several tokens", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    await repo.createToken({
      tokenHash: "tom-a",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    await repo.createToken({
      tokenHash: "tom-b",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    await repo.createToken({
      tokenHash: "jack",
      userId: jack.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    assert.equal((await repo.findSession("tom-a", NOW))?.user.username, "Tom");
    assert.equal((await repo.findSession("tom-b", NOW))?.user.username, "Tom");
    assert.equal((await repo.findSession("jack", NOW))?.user.username, "Jack");
  });

  contractTest("deleteToken deletes once and then reports false", async (repo) => {
    const tom = await addUser(repo, "Tom");
    await repo.createToken({
      tokenHash: "gone",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    await repo.createToken({
      tokenHash: "kept",
      userId: tom.id,
      createdAt: NOW,
      expiresAt: NOW + HOUR_MS,
    });
    assert.equal(await repo.deleteToken("gone"), true);
    assert.equal(await repo.findSession("gone", NOW), null);
    assert.equal(await repo.deleteToken("gone"), false);
    assert.equal(await repo.deleteToken("never-existed"), false);
    assert.equal((await repo.findSession("kept", NOW))?.user.id, tom.id);
  });

  contractTest("deleteExpiredTokens deletes the tokens expired at or before now", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const expiries = { early: NOW - HOUR_MS, exact: NOW, later: NOW + 1, far: NOW + HOUR_MS };
    for (const [tokenHash, expiresAt] of Object.entries(expiries)) {
      await repo.createToken({
        tokenHash,
        userId: tom.id,
        createdAt: NOW - 2 * HOUR_MS,
        expiresAt,
      });
    }
    assert.equal(await repo.deleteExpiredTokens(NOW), 2);
    assert.equal(await repo.deleteToken("early"), false);
    assert.equal(await repo.deleteToken("exact"), false);
    assert.equal((await repo.findSession("later", NOW))?.user.id, tom.id);
    assert.equal((await repo.findSession("far", NOW))?.user.id, tom.id);
    assert.equal(await repo.deleteExpiredTokens(NOW), 0);
    assert.equal(await repo.deleteExpiredTokens(NOW + HOUR_MS), 2);
  });

  // Saving messages.

  contractTest("saved messages get increasing ids and come back as saved", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const first = await saveOne(repo, {
      from: tom,
      to: jack,
      msg: "Hello Jack",
      sendTime: "2024-05-01 12:00:00",
      sentAt: NOW,
      clientId: null,
    });
    assert.equal(first.duplicate, false);
    assert.ok(Number.isSafeInteger(first.message.messageId));
    assert.deepEqual(first.message, {
      messageId: first.message.messageId,
      fromUser: "Tom",
      toUser: "Jack",
      msg: "Hello Jack",
      sendTime: "2024-05-01 12:00:00",
    });
    let previous = first.message.messageId;
    for (const message of [newMessage(jack, tom, "Hi"), newMessage(tom, jack, "Bye")]) {
      const saved = await saveOne(repo, message);
      assert.equal(saved.duplicate, false);
      assert.ok(saved.message.messageId > previous, "ids increase");
      previous = saved.message.messageId;
    }
  });

  contractTest("a batch is stored in the order given, results in the same order", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const batch = Array.from({ length: 20 }, (_, i) => ({
      ...newMessage(tom, jack, `m${i}`),
      clientId: i === 7 ? "dup" : null,
    }));
    // A repeated client id inside the batch is a duplicate of the earlier one.
    batch.push({ ...newMessage(tom, jack, "m7 again"), clientId: "dup" });
    const saved = await repo.saveMessages(batch);
    assert.deepEqual(saved.map((s) => s.message.msg), [
      ...batch.slice(0, 20).map((m) => m.msg),
      "m7",
    ]);
    assert.deepEqual(saved.map((s) => s.duplicate), [...Array(20).fill(false), true]);
    const ids = saved.slice(0, 20).map((s) => s.message.messageId);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, 20);
    assert.equal(saved[20].message.messageId, ids[7]);
    const waiting = await repo.waitingMessages(jack.id, tom.id, 0, 100);
    assert.deepEqual(waiting.map((m) => m.msg), batch.slice(0, 20).map((m) => m.msg));
    assert.deepEqual(await repo.saveMessages([]), []);
  });

  contractTest("a resend with the same client id returns the original message", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const original = await saveOne(repo, {
      from: tom,
      to: jack,
      msg: "Hello Jack",
      sendTime: "2024-05-01 12:00:00",
      sentAt: NOW,
      clientId: "client-1",
    });
    assert.equal(original.duplicate, false);
    const resend = await saveOne(repo, {
      from: tom,
      to: jack,
      msg: "Hello Jack, edited",
      sendTime: "2024-05-01 12:00:09",
      sentAt: NOW + 9000,
      clientId: "client-1",
    });
    assert.equal(resend.duplicate, true);
    assert.deepEqual(resend.message, original.message);
    assert.equal(resend.message.msg, "Hello Jack");
    assert.equal(resend.message.sendTime, "2024-05-01 12:00:00");
    // Stored once.
    assert.deepEqual(await repo.history(tom.id, jack.id, { limit: 10 }), [original.message]);
    assert.deepEqual(await repo.waitingMessages(jack.id, tom.id, 0, 10), [original.message]);
  });

  contractTest("the same client id from another sender is not a duplicate", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    const fromTom = await saveOne(repo, newMessage(tom, jack, "From Tom", "same-id"));
    const fromAlice = await saveOne(repo, newMessage(alice, jack, "From Alice", "same-id"));
    assert.equal(fromAlice.duplicate, false);
    assert.notEqual(fromAlice.message.messageId, fromTom.message.messageId);
    assert.equal(fromAlice.message.msg, "From Alice");
    // Jack's reply in the other direction with that id is his own message too.
    const fromJack = await saveOne(repo, newMessage(jack, tom, "From Jack", "same-id"));
    assert.equal(fromJack.duplicate, false);
    assert.equal(fromJack.message.fromUser, "Jack");
  });

  contractTest("the same client id to another peer is not a duplicate", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    const toJack = await saveOne(repo, newMessage(tom, jack, "To Jack", "same-id"));
    const toAlice = await saveOne(repo, newMessage(tom, alice, "To Alice", "same-id"));
    assert.equal(toAlice.duplicate, false);
    assert.notEqual(toAlice.message.messageId, toJack.message.messageId);
    assert.equal(toAlice.message.toUser, "Alice");
    assert.equal(toAlice.message.msg, "To Alice");
  });

  contractTest("a message without a client id is never a duplicate", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const message = newMessage(tom, jack, "Same text");
    const first = await saveOne(repo, message);
    const second = await saveOne(repo, message);
    assert.equal(second.duplicate, false);
    assert.ok(second.message.messageId > first.message.messageId);
    assert.equal((await repo.history(tom.id, jack.id, { limit: 10 })).length, 2);
  });

  // Waiting messages.

  contractTest("waiting messages come oldest first, one direction only", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    const [a, , b, , c] = await saveAll(repo, [
      newMessage(tom, jack, "one"),
      newMessage(jack, tom, "reply"),
      newMessage(tom, jack, "two"),
      newMessage(alice, jack, "from Alice"),
      newMessage(tom, jack, "three"),
      newMessage(tom, alice, "to Alice"),
    ]);
    const waiting = await repo.waitingMessages(jack.id, tom.id, 0, 10);
    assert.deepEqual(waiting.map((message) => message.messageId), [a, b, c]);
    assert.deepEqual(waiting.map((message) => message.msg), ["one", "two", "three"]);
    for (const message of waiting) {
      assert.equal(message.fromUser, "Tom");
      assert.equal(message.toUser, "Jack");
    }
    assert.deepEqual(
      (await repo.waitingMessages(tom.id, jack.id, 0, 10)).map((message) => message.msg),
      ["reply"],
    );
    assert.deepEqual(await repo.waitingMessages(tom.id, alice.id, 0, 10), []);
  });

  contractTest("waiting messages page by afterId and limit", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const ids = await saveAll(
      repo,
      ["1", "2", "3", "4", "5"].map((text) => newMessage(tom, jack, text)),
    );
    const firstPage = await repo.waitingMessages(jack.id, tom.id, 0, 2);
    assert.deepEqual(firstPage.map((message) => message.messageId), ids.slice(0, 2));
    const secondPage = await repo.waitingMessages(jack.id, tom.id, firstPage[1].messageId, 2);
    assert.deepEqual(secondPage.map((message) => message.messageId), ids.slice(2, 4));
    const lastPage = await repo.waitingMessages(jack.id, tom.id, secondPage[1].messageId, 2);
    assert.deepEqual(lastPage.map((message) => message.messageId), ids.slice(4));
    assert.deepEqual(await repo.waitingMessages(jack.id, tom.id, ids[4], 2), []);
  });

  contractTest("delivered messages no longer wait", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const ids = await saveAll(
      repo,
      ["1", "2", "3", "4"].map((text) => newMessage(tom, jack, text)),
    );
    await repo.markDelivered([ids[0], ids[2]]);
    assert.deepEqual(
      (await repo.waitingMessages(jack.id, tom.id, 0, 10)).map((message) => message.messageId),
      [ids[1], ids[3]],
    );
    await repo.markDelivered([]);
    await repo.markDelivered([ids[1], ids[0]]);
    assert.deepEqual(
      (await repo.waitingMessages(jack.id, tom.id, 0, 10)).map((message) => message.messageId),
      [ids[3]],
    );
    // Delivery changes waiting only: the history still holds every message.
    assert.equal((await repo.history(jack.id, tom.id, { limit: 10 })).length, 4);
  });

  // History.

  contractTest("history holds both directions, newest first, up to the limit", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    const ids = await saveAll(repo, [
      newMessage(tom, jack, "1"),
      newMessage(jack, tom, "2"),
      newMessage(tom, alice, "not this conversation"),
      newMessage(tom, jack, "3"),
      newMessage(alice, jack, "nor this one"),
      newMessage(jack, tom, "4"),
    ]);
    const newestFirst = [ids[5], ids[3], ids[1], ids[0]];
    const fromTom = await repo.history(tom.id, jack.id, { limit: 10 });
    assert.deepEqual(fromTom.map((message) => message.messageId), newestFirst);
    assert.deepEqual(fromTom.map((message) => message.msg), ["4", "3", "2", "1"]);
    assert.deepEqual(fromTom.map((message) => message.fromUser), ["Jack", "Tom", "Jack", "Tom"]);
    assert.deepEqual(fromTom.map((message) => message.toUser), ["Tom", "Jack", "Tom", "Jack"]);
    // The same conversation, whichever side asks.
    assert.deepEqual(await repo.history(jack.id, tom.id, { limit: 10 }), fromTom);
    assert.deepEqual(
      (await repo.history(tom.id, jack.id, { limit: 3 })).map((message) => message.messageId),
      newestFirst.slice(0, 3),
    );
    assert.deepEqual(
      (await repo.history(tom.id, jack.id, { limit: 1 })).map((message) => message.messageId),
      [ids[5]],
    );
  });

  contractTest("history pages back by beforeId", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const ids = await saveAll(repo, [
      newMessage(tom, jack, "1"),
      newMessage(tom, jack, "2"),
      newMessage(jack, tom, "3"),
      newMessage(jack, tom, "4"),
      newMessage(tom, jack, "5"),
    ]);
    const pages: number[][] = [];
    let beforeId: number | undefined;
    for (;;) {
      const page = await repo.history(tom.id, jack.id, { limit: 2, beforeId });
      if (page.length === 0) break;
      pages.push(page.map((message) => message.messageId));
      beforeId = page[page.length - 1].messageId;
    }
    assert.deepEqual(pages, [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]);
    assert.deepEqual(await repo.history(tom.id, jack.id, { limit: 10, beforeId: ids[0] }), []);
  });

  contractTest("history of a conversation with oneself has each message once", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const ids = await saveAll(repo, [
      newMessage(tom, tom, "note 1"),
      newMessage(tom, jack, "to Jack"),
      newMessage(jack, tom, "from Jack"),
      newMessage(tom, tom, "note 2"),
      newMessage(tom, tom, "note 3"),
    ]);
    const notes = await repo.history(tom.id, tom.id, { limit: 10 });
    assert.deepEqual(notes.map((message) => message.messageId), [ids[4], ids[3], ids[0]]);
    assert.deepEqual(notes.map((message) => message.msg), ["note 3", "note 2", "note 1"]);
    assert.deepEqual(
      (await repo.history(tom.id, tom.id, { limit: 2, beforeId: ids[4] }))
        .map((message) => message.messageId),
      [ids[3], ids[0]],
    );
    // Notes to oneself wait like any message, once each.
    assert.deepEqual(
      (await repo.waitingMessages(tom.id, tom.id, 0, 10)).map((message) => message.messageId),
      [ids[0], ids[3], ids[4]],
    );
  });

  contractTest("history of users who never talked is empty", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    await saveOne(repo, newMessage(tom, alice, "hi"));
    assert.deepEqual(await repo.history(tom.id, jack.id, { limit: 10 }), []);
    assert.deepEqual(await repo.history(jack.id, jack.id, { limit: 10 }), []);
  });

  // Text.

  contractTest("Chinese and emoji text round-trips exactly", async (repo) => {
    const texts = [
      "你好，汤姆！今天下午三点开会。",
      "😀👍🏽👨‍👩‍👧‍👦🇨🇳",
      "e\u0301 and é stay as sent",
      "Ｆｕｌｌｗｉｄｔｈ is not normalised",
      "quotes \" ' \\ and\nnew\tlines",
      "𠀀𪚥 astral CJK",
    ];
    const zhang = await addUser(repo, "张三");
    const li = await addUser(repo, "李四😀");
    assert.equal((await repo.findUser(usernameKey("张三")))?.username, "张三");
    assert.equal((await repo.findUser(usernameKey("李四😀")))?.username, "李四😀");
    const saved = [];
    for (const [index, msg] of texts.entries()) {
      const result = await saveOne(repo, {
        from: zhang,
        to: li,
        msg,
        sendTime: "2024-05-01 12:00:00",
        sentAt: NOW,
        clientId: `客户端-${index}-😀`,
      });
      assert.equal(result.message.msg, msg);
      saved.push(result.message);
    }
    const waiting = await repo.waitingMessages(li.id, zhang.id, 0, 10);
    assert.deepEqual(waiting.map((message) => message.msg), texts);
    assert.deepEqual(waiting.map((message) => message.fromUser), texts.map(() => "张三"));
    assert.deepEqual(waiting.map((message) => message.toUser), texts.map(() => "李四😀"));
    assert.deepEqual(await repo.history(li.id, zhang.id, { limit: 10 }), saved.toReversed());
    // A resend finds the stored message by its non-ASCII client id.
    const resend = await saveOne(repo, {
      from: zhang,
      to: li,
      msg: "changed",
      sendTime: "2024-05-01 12:00:01",
      sentAt: NOW,
      clientId: "客户端-1-😀",
    });
    assert.equal(resend.duplicate, true);
    assert.deepEqual(resend.message, saved[1]);
  });

  // Transient failures.

  contractTest(
    "a write while another connection holds the lock fails as unavailable, then works",
    async (repo, fixture) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      const token = { tokenHash: "t1", userId: tom.id, createdAt: NOW, expiresAt: NOW + HOUR_MS };
      const message = newMessage(tom, jack, "while locked", "locked-1");
      const lock = await fixture.holdWriteLock();
      try {
        await assertUnavailable(repo.saveMessages([message]), "a message while locked");
        await assertUnavailable(repo.createToken(token), "a token while locked");
      } finally {
        await lock.release();
      }
      // The lock is gone: the same writes succeed, and the failed ones left nothing behind.
      const [saved] = await repo.saveMessages([message]);
      assert.equal(saved.duplicate, false);
      await repo.createToken(token);
      assert.equal((await repo.findSession("t1", NOW))?.user.id, tom.id);
      assert.deepEqual(await repo.history(tom.id, jack.id, { limit: 10 }), [saved.message]);
    },
  );

  contractTest(
    "the write probe commits while writes work and fails as unavailable while they cannot",
    async (repo, fixture) => {
      await repo.probeWrite(NOW);
      await repo.probeWrite(NOW + 1);
      const lock = await fixture.holdWriteLock();
      try {
        await assertUnavailable(repo.probeWrite(NOW + 2), "the write probe while locked");
        await repo.ping();
      } finally {
        await lock.release();
      }
      await repo.probeWrite(NOW + 3);
    },
  );

  // Closing.

  contractTest("calls after close fail", async (repo) => {
    await addUser(repo, "Tom");
    await repo.close();
    await assert.rejects(repo.findUser("tom"));
    await assert.rejects(repo.findSession("hash", NOW));
    await assert.rejects(repo.probeWrite(NOW));
  });

  // Issue 13: user changes and erasure, presence times, API keys, the webhook outbox.
  appTablesContract((behaviour, body) => contractTest(behaviour, (repo) => body(repo)));

  // Issue 11: storage quotas.
  quotaContract((behaviour, body) => contractTest(behaviour, (repo) => body(repo)));

  // Issue 12: conversation state, read markers, delivered cursors.
  conversationContract((behaviour, body) => contractTest(behaviour, (repo) => body(repo)));

  // Issue 12: search in a conversation.
  searchContract((behaviour, body) => contractTest(behaviour, (repo) => body(repo)));

  // Issue 12: recall.
  recallContract((behaviour, body) => contractTest(behaviour, (repo) => body(repo)));
}
