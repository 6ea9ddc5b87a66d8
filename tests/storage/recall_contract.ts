/**
 * The part of the repository conformance suite for recall (issue 12): `recallMessage`. Run by
 * `repositoryContract` for every implementation.
 */
import assert from "node:assert/strict";
import type { NewMessage, Repository, UserRef } from "../../lib/storage/repository.ts";
import { addUser, type ContractTest } from "./contract_support.ts";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const WINDOW_MS = 120_000;

function message(from: UserRef, to: UserRef, msg: string, sentAt = NOW): NewMessage {
  return { from, to, msg, sendTime: "2024-05-01 12:00:00", sentAt, clientId: `c-${msg}` };
}

/** Tom, Jack and Alice, and a recall by `sender` of `messageId` at `at` within the window. */
async function setUp(repo: Repository) {
  const tom = await addUser(repo, "Tom");
  const jack = await addUser(repo, "Jack");
  const alice = await addUser(repo, "Alice");
  const recall = (sender: UserRef, messageId: number, at = NOW + 1000, toUserId?: number) =>
    repo.recallMessage({ messageId, senderId: sender.id, toUserId, notBefore: at - WINDOW_MS, at });
  return { tom, jack, alice, recall };
}

/** Registers the recall cases with the suite's `contractTest`. */
export function recallContract(contractTest: ContractTest): void {
  contractTest(
    "a recalled message keeps its place with its text erased everywhere",
    async (repo) => {
      const { tom, jack, recall } = await setUp(repo);
      const [first, secret, last] = await repo.saveMessages([
        message(tom, jack, "hello Jack"),
        message(tom, jack, "the secret code is 4711"),
        message(jack, tom, "what code?"),
      ]);
      const outcome = await recall(tom, secret.message.messageId);
      assert.equal(outcome.kind, "recalled");
      assert.ok(outcome.kind === "recalled");
      assert.equal(outcome.already, false);
      assert.equal(outcome.fromUserId, tom.id);
      assert.equal(outcome.toUserId, jack.id);
      const recalled = { ...secret.message, msg: "", recalled: true };
      assert.deepEqual(outcome.message, recalled);
      // History shows the item, recalled; the others are as they were, without the flag.
      for (const [user, peer] of [[tom, jack], [jack, tom]]) {
        assert.deepEqual(await repo.history(user.id, peer.id, { limit: 10 }), [
          last.message,
          recalled,
          first.message,
        ]);
      }
      // The conversation list shows it too, when it is the last message.
      const [thirdSaved] = await repo.saveMessages([message(tom, jack, "last one")]);
      assert.equal((await recall(tom, thirdSaved.message.messageId)).kind, "recalled");
      for (const [user, peer] of [[tom, jack], [jack, tom]]) {
        const listed = await repo.conversation(user.id, peer.id);
        assert.deepEqual(listed?.lastMessage, { ...thirdSaved.message, msg: "", recalled: true });
        const [first] = await repo.conversations(user.id, { limit: 10 });
        assert.deepEqual(first.lastMessage, listed?.lastMessage);
      }
      // The text is gone from the search index, short and long texts alike.
      for (const text of ["secret", "4711", "se", "code is"]) {
        assert.deepEqual(await repo.searchMessages(jack.id, tom.id, { text, limit: 10 }), [], text);
      }
      assert.equal(
        (await repo.searchMessages(jack.id, tom.id, { text: "code", limit: 10 })).length,
        1,
      );
      // A resend of its client id answers with the recalled message, not its text.
      const [resend] = await repo.saveMessages([message(tom, jack, "the secret code is 4711")]);
      assert.equal(resend.duplicate, true);
      assert.deepEqual(resend.message, recalled);
    },
  );

  contractTest(
    "a recalled message that waits is never delivered nor counted as waiting",
    async (repo) => {
      const { tom, jack, recall } = await setUp(repo);
      const saved = await repo.saveMessages([
        message(tom, jack, "one"),
        message(tom, jack, "two"),
        message(tom, jack, "three"),
      ]);
      const ids = saved.map((s) => s.message.messageId);
      assert.equal((await recall(tom, ids[1])).kind, "recalled");
      assert.deepEqual(
        (await repo.waitingMessages(jack.id, tom.id, 0, 10)).map((m) => m.messageId),
        [ids[0], ids[2]],
      );
      assert.equal(await repo.waitingCount(jack.id, tom.id, 10), 2);
    },
  );

  contractTest("only the sender may recall, within the window, on the pair asked", async (repo) => {
    const { tom, jack, alice, recall } = await setUp(repo);
    const [toJack, fromJack] = await repo.saveMessages([
      message(tom, jack, "mine"),
      message(jack, tom, "his"),
    ]);
    const mine = toJack.message.messageId;
    const refused = (reason: string) => ({ kind: "refused", reason });
    assert.deepEqual(await recall(jack, mine), refused("not_yours"));
    assert.deepEqual(await recall(alice, mine), refused("not_yours"));
    assert.deepEqual(await recall(tom, fromJack.message.messageId), refused("not_yours"));
    assert.deepEqual(await recall(tom, mine + 1000), refused("not_yours"));
    // On Tom's socket to Alice, his message to Jack is not one of that pair.
    assert.deepEqual(await recall(tom, mine, NOW + 1000, alice.id), refused("not_yours"));
    // Past the window (the bound is inclusive).
    assert.deepEqual(await recall(tom, mine, NOW + WINDOW_MS + 1), refused("too_late"));
    assert.deepEqual(await recall(tom, mine, NOW + WINDOW_MS, jack.id), {
      kind: "recalled",
      message: { ...toJack.message, msg: "", recalled: true },
      fromUserId: tom.id,
      toUserId: jack.id,
      already: false,
    });
    // Refusals changed nothing; Jack's message stands.
    assert.deepEqual(
      (await repo.history(tom.id, jack.id, { limit: 10 })).map((m) => m.msg),
      ["his", ""],
    );
  });

  contractTest("recalling again answers recalled, already, even past the window", async (repo) => {
    const { tom, jack, recall } = await setUp(repo);
    const [saved] = await repo.saveMessages([message(tom, jack, "oops")]);
    const id = saved.message.messageId;
    assert.equal((await recall(tom, id)).kind, "recalled");
    const again = await recall(tom, id, NOW + 10 * WINDOW_MS);
    assert.ok(again.kind === "recalled");
    assert.equal(again.already, true);
    assert.deepEqual(again.message, { ...saved.message, msg: "", recalled: true });
  });

  contractTest("erasing a user also erases the messages they recalled", async (repo) => {
    const { tom, jack, recall } = await setUp(repo);
    const [saved] = await repo.saveMessages([message(tom, jack, "gone")]);
    await repo.saveMessages([message(jack, tom, "still here")]);
    assert.equal((await recall(tom, saved.message.messageId)).kind, "recalled");
    assert.deepEqual(await repo.deleteUser(tom.id), { messages: 2 });
    assert.deepEqual(await repo.history(jack.id, tom.id, { limit: 10 }), []);
  });
}
