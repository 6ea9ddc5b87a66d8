/**
 * The part of the repository conformance suite for search in a conversation (issue 12):
 * `searchMessages`. Run by `repositoryContract` for every implementation.
 */
import assert from "node:assert/strict";
import type { NewMessage, Repository, UserRef } from "../../lib/storage/repository.ts";
import { addUser, type ContractTest } from "./contract_support.ts";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

function message(from: UserRef, to: UserRef, msg: string): NewMessage {
  return { from, to, msg, sendTime: "2024-05-01 12:00:00", sentAt: NOW, clientId: null };
}

/** Stores the messages in order and returns their ids. */
async function store(repo: Repository, messages: readonly NewMessage[]): Promise<number[]> {
  const saved = await repo.saveMessages(messages);
  return saved.map((result) => result.message.messageId);
}

/** Tom, Jack and Alice. */
async function threeUsers(repo: Repository) {
  return {
    tom: await addUser(repo, "Tom"),
    jack: await addUser(repo, "Jack"),
    alice: await addUser(repo, "Alice"),
  };
}

/** Registers the search cases with the suite's `contractTest`. */
export function searchContract(contractTest: ContractTest): void {
  contractTest(
    "search finds the pair's messages containing the text, newest first",
    async (repo) => {
      const { tom, jack, alice } = await threeUsers(repo);
      const ids = await store(repo, [
        message(tom, jack, "Lunch at noon?"),
        message(jack, tom, "lunch is fine"),
        message(tom, alice, "lunch with Jack today"),
        message(jack, tom, "see you there"),
        message(tom, jack, "LUNCH moved to one"),
      ]);
      const found = await repo.searchMessages(tom.id, jack.id, { text: "lunch", limit: 10 });
      assert.deepEqual(found.map((m) => m.messageId), [ids[4], ids[1], ids[0]]);
      assert.deepEqual(found.map((m) => m.msg), [
        "LUNCH moved to one",
        "lunch is fine",
        "Lunch at noon?",
      ]);
      assert.deepEqual(found.map((m) => m.fromUser), ["Tom", "Jack", "Tom"]);
      assert.deepEqual(found.map((m) => m.toUser), ["Jack", "Tom", "Jack"]);
      // The same conversation seen from the other side; an item is what history lists.
      const history = await repo.history(jack.id, tom.id, { limit: 10 });
      assert.deepEqual(
        await repo.searchMessages(jack.id, tom.id, { text: "LUNCH", limit: 10 }),
        history.filter((m) => m.msg.toLowerCase().includes("lunch")),
      );
      assert.deepEqual(
        await repo.searchMessages(tom.id, jack.id, { text: "dinner", limit: 10 }),
        [],
      );
      // Alice's conversation with Tom has its own match and nothing of Jack's.
      assert.deepEqual(
        (await repo.searchMessages(alice.id, tom.id, { text: "lunch", limit: 10 })).map((m) =>
          m.messageId
        ),
        [ids[2]],
      );
    },
  );

  contractTest(
    "search pages exactly like history: limit, then before the last id",
    async (repo) => {
      const { tom, jack } = await threeUsers(repo);
      const ids = await store(
        repo,
        Array.from(
          { length: 7 },
          (_, i) => message(i % 2 ? jack : tom, i % 2 ? tom : jack, `report ${i}`),
        ),
      );
      const first = await repo.searchMessages(tom.id, jack.id, { text: "report", limit: 3 });
      assert.deepEqual(
        first.map((m) => m.messageId),
        [ids[6], ids[5], ids[4]],
      );
      const second = await repo.searchMessages(tom.id, jack.id, {
        text: "report",
        limit: 3,
        beforeId: ids[4],
      });
      assert.deepEqual(second.map((m) => m.messageId), [ids[3], ids[2], ids[1]]);
      const last = await repo.searchMessages(tom.id, jack.id, {
        text: "report",
        limit: 3,
        beforeId: ids[1],
      });
      assert.deepEqual(last.map((m) => m.messageId), [ids[0]]);
      // Short texts (scanned, not indexed) page the same way.
      const short = await repo.searchMessages(tom.id, jack.id, {
        text: "t ",
        limit: 4,
        beforeId: ids[5],
      });
      assert.deepEqual(short.map((m) => m.messageId), [ids[4], ids[3], ids[2], ids[1]]);
    },
  );

  contractTest("search finds Chinese text of one, two and more characters", async (repo) => {
    const { tom, jack } = await threeUsers(repo);
    const ids = await store(repo, [
      message(tom, jack, "你好 Jack，在吗?"),
      message(jack, tom, "在，你好！"),
      message(tom, jack, "明天下午三点开会"),
      message(jack, tom, "好的😀"),
    ]);
    const search = async (text: string) =>
      (await repo.searchMessages(jack.id, tom.id, { text, limit: 10 })).map((m) => m.messageId);
    assert.deepEqual(await search("你好"), [ids[1], ids[0]]);
    assert.deepEqual(await search("好"), [ids[3], ids[1], ids[0]]);
    assert.deepEqual(await search("在吗"), [ids[0]]);
    assert.deepEqual(await search("下午三点"), [ids[2]]);
    assert.deepEqual(await search("jack，在"), [ids[0]]);
    assert.deepEqual(await search("的😀"), [ids[3]]);
    assert.deepEqual(await search("晚上"), []);
  });

  contractTest("search is case-insensitive for short and long texts", async (repo) => {
    const { tom, jack } = await threeUsers(repo);
    const ids = await store(repo, [
      message(tom, jack, "Hi there"),
      message(jack, tom, "OK, deal"),
      message(tom, jack, "Ship the Release Notes"),
    ]);
    const search = async (text: string) =>
      (await repo.searchMessages(tom.id, jack.id, { text, limit: 10 })).map((m) => m.messageId);
    assert.deepEqual(await search("hI"), [ids[2], ids[0]]);
    assert.deepEqual(await search("ok"), [ids[1]]);
    assert.deepEqual(await search("release notes"), [ids[2]]);
    assert.deepEqual(await search("SHIP THE"), [ids[2]]);
  });

  contractTest("search takes %, _, \\ and quotes literally", async (repo) => {
    const { tom, jack } = await threeUsers(repo);
    const ids = await store(repo, [
      message(tom, jack, "100% sure"),
      message(jack, tom, "1000 sure"),
      message(tom, jack, "snake_case"),
      message(jack, tom, "snakeXcase"),
      message(tom, jack, 'say "yes" \\o/'),
    ]);
    const search = async (text: string) =>
      (await repo.searchMessages(tom.id, jack.id, { text, limit: 10 })).map((m) => m.messageId);
    assert.deepEqual(await search("0%"), [ids[0]]);
    assert.deepEqual(await search("100% s"), [ids[0]]);
    assert.deepEqual(await search("_"), [ids[2]]);
    assert.deepEqual(await search("e_c"), [ids[2]]);
    assert.deepEqual(await search('"yes"'), [ids[4]]);
    assert.deepEqual(await search("\\o/"), [ids[4]]);
    assert.deepEqual(await search("\\"), [ids[4]]);
    assert.deepEqual(await search("%"), [ids[0]]);
  });

  contractTest("search in a conversation with oneself finds each note once", async (repo) => {
    const { tom, jack } = await threeUsers(repo);
    const ids = await store(repo, [
      message(tom, tom, "note: buy milk"),
      message(tom, jack, "note for Jack"),
      message(tom, tom, "note: call mum"),
    ]);
    const long = await repo.searchMessages(tom.id, tom.id, { text: "note:", limit: 10 });
    assert.deepEqual(long.map((m) => m.messageId), [ids[2], ids[0]]);
    const short = await repo.searchMessages(tom.id, tom.id, { text: "mi", limit: 10 });
    assert.deepEqual(short.map((m) => m.messageId), [ids[0]]);
  });

  contractTest("a message erased with its user is no longer found", async (repo) => {
    const { tom, jack, alice } = await threeUsers(repo);
    await store(repo, [message(jack, tom, "secret plan"), message(alice, tom, "secret plan")]);
    assert.notEqual(await repo.deleteUser(jack.id), null);
    assert.deepEqual(await repo.searchMessages(tom.id, jack.id, { text: "secret", limit: 10 }), []);
    assert.equal(
      (await repo.searchMessages(tom.id, alice.id, { text: "secret", limit: 10 })).length,
      1,
    );
  });
}
