/**
 * The part of the repository conformance suite for storage quotas (issue 11): `saveMessages`
 * with a `StorageQuota` and `waitingCount`. Run by `repositoryContract` for every implementation.
 */
import assert from "node:assert/strict";
import type {
  NewMessage,
  Repository,
  SaveOutcome,
  StorageQuota,
  UserRef,
} from "../../lib/storage/repository.ts";
import { DAY_MS } from "../../lib/storage/quota.ts";
import { addUser, type ContractTest } from "./contract_support.ts";

/** Noon (UTC) of a day: 12 h until the next day begins. */
const NOON = Date.UTC(2024, 4, 1, 12, 0, 0);
const HALF_DAY_MS = DAY_MS / 2;
const OFF: StorageQuota = { dailyMessages: 0, dailyBytes: 0, waitingMessages: 0 };

function message(
  from: UserRef,
  to: UserRef,
  msg: string,
  clientId: string | null = null,
  sentAt = NOON,
): NewMessage {
  return { from, to, msg, sendTime: "2024-05-01 12:00:00", sentAt, clientId };
}

/** The texts stored, or the quota that refused each. */
function verdicts(outcomes: readonly SaveOutcome[]): string[] {
  return outcomes.map((o) =>
    "refused" in o ? `refused:${o.refused.quota}` : `${o.duplicate ? "dup:" : ""}${o.message.msg}`
  );
}

/** Tom and Jack, and what Tom has stored to Jack so far (oldest first). */
async function tomAndJack(repo: Repository) {
  const tom = await addUser(repo, "Tom");
  const jack = await addUser(repo, "Jack");
  const stored = async () =>
    (await repo.history(tom.id, jack.id, { limit: 100 })).map((m) => m.msg).reverse();
  return { tom, jack, stored };
}

/** Registers the tests with the suite's `contractTest`. */
export function quotaContract(contractTest: ContractTest): void {
  contractTest(
    "the daily message quota refuses the message over it, until the next UTC day",
    async (repo) => {
      const { tom, jack, stored } = await tomAndJack(repo);
      const quota = { ...OFF, dailyMessages: 3 };
      const first = await repo.saveMessagesWithin(
        [message(tom, jack, "1"), message(tom, jack, "2")],
        quota,
      );
      assert.deepEqual(verdicts(first), ["1", "2"]);
      assert.deepEqual(verdicts(await repo.saveMessagesWithin([message(tom, jack, "3")], quota)), [
        "3",
      ]);
      const [over] = await repo.saveMessagesWithin([message(tom, jack, "4")], quota);
      assert.deepEqual(over, {
        refused: { quota: "daily_messages", limit: 3, retryAfterMs: HALF_DAY_MS },
      });
      assert.deepEqual(await stored(), ["1", "2", "3"]);
      // Quotas are per sender: Jack still sends, and to Tom too.
      assert.deepEqual(verdicts(await repo.saveMessagesWithin([message(jack, tom, "hi")], quota)), [
        "hi",
      ]);
      // A new UTC day starts again from 0.
      const tomorrow = message(tom, jack, "5", null, NOON + HALF_DAY_MS);
      assert.deepEqual(verdicts(await repo.saveMessagesWithin([tomorrow], quota)), ["5"]);
    },
  );

  contractTest("the daily byte quota counts the UTF-8 bytes of msg", async (repo) => {
    const { tom, jack, stored } = await tomAndJack(repo);
    const quota = { ...OFF, dailyBytes: 10 };
    // Two emoji are 8 bytes; "ab" fits the 2 left; one more byte does not.
    const outcomes = await repo.saveMessagesWithin([
      message(tom, jack, "😀😀"),
      message(tom, jack, "ab"),
      message(tom, jack, "c"),
    ], quota);
    assert.deepEqual(verdicts(outcomes), ["😀😀", "ab", "refused:daily_bytes"]);
    assert.deepEqual((outcomes[2] as { refused: unknown }).refused, {
      quota: "daily_bytes",
      limit: 10,
      retryAfterMs: HALF_DAY_MS,
    });
    // A message larger than the whole quota is refused on a fresh day too.
    const big = message(tom, jack, "x".repeat(11), null, NOON + DAY_MS);
    assert.deepEqual(verdicts(await repo.saveMessagesWithin([big], quota)), [
      "refused:daily_bytes",
    ]);
    assert.deepEqual(await stored(), ["😀😀", "ab"]);
  });

  contractTest(
    "the waiting quota counts per receiver what is not delivered; a delivery frees a place",
    async (repo) => {
      const { tom, jack, stored } = await tomAndJack(repo);
      const alice = await addUser(repo, "Alice");
      const quota = { ...OFF, waitingMessages: 2 };
      const outcomes = await repo.saveMessagesWithin(
        ["1", "2", "3"].map((text) => message(tom, jack, text)),
        quota,
      );
      assert.deepEqual(verdicts(outcomes), ["1", "2", "refused:waiting"]);
      assert.deepEqual((outcomes[2] as { refused: unknown }).refused, {
        quota: "waiting",
        limit: 2,
        retryAfterMs: null,
      });
      // Another receiver has places of its own.
      assert.deepEqual(verdicts(await repo.saveMessagesWithin([message(tom, alice, "a")], quota)), [
        "a",
      ]);
      assert.equal(await repo.waitingCount(jack.id, tom.id, 10), 2);
      const first = (await repo.waitingMessages(jack.id, tom.id, 0, 1))[0];
      await repo.markDelivered([first.messageId]);
      assert.equal(await repo.waitingCount(jack.id, tom.id, 10), 1);
      assert.deepEqual(verdicts(await repo.saveMessagesWithin([message(tom, jack, "3")], quota)), [
        "3",
      ]);
      assert.deepEqual(await stored(), ["1", "2", "3"]);
    },
  );

  contractTest(
    "a resend of a stored client id is never refused nor charged; a new id is",
    async (repo) => {
      const { tom, jack, stored } = await tomAndJack(repo);
      // Were the resend charged, the third message would be over the daily quota, not waiting.
      const quota = { dailyMessages: 2, dailyBytes: 0, waitingMessages: 1 };
      const [original] = await repo.saveMessagesWithin([message(tom, jack, "once", "c1")], quota);
      assert.ok("message" in original && !original.duplicate);
      const again = await repo.saveMessagesWithin([message(tom, jack, "once", "c1")], quota);
      assert.deepEqual(again, [{ duplicate: true, message: original.message }]);
      const fresh = await repo.saveMessagesWithin([message(tom, jack, "twice", "c2")], quota);
      assert.deepEqual(verdicts(fresh), ["refused:waiting"]);
      assert.deepEqual(await stored(), ["once"]);
    },
  );

  contractTest(
    "a resend in a batch that fits whole is not charged: the quota still takes the next one",
    async (repo) => {
      const { tom, jack, stored } = await tomAndJack(repo);
      const quota = { ...OFF, dailyMessages: 3 };
      await repo.saveMessagesWithin([message(tom, jack, "one", "c1")], quota);
      // Fits even counted as two new messages (1 + 2 <= 3); only "two" is charged.
      const batch = await repo.saveMessagesWithin([
        message(tom, jack, "one", "c1"),
        message(tom, jack, "two", "c2"),
      ], quota);
      assert.deepEqual(verdicts(batch), ["dup:one", "two"]);
      const third = await repo.saveMessagesWithin([message(tom, jack, "three", "c3")], quota);
      assert.deepEqual(verdicts(third), ["three"]);
      const fourth = await repo.saveMessagesWithin([message(tom, jack, "four", "c4")], quota);
      assert.deepEqual(verdicts(fourth), ["refused:daily_messages"]);
      assert.deepEqual(await stored(), ["one", "two", "three"]);
    },
  );

  contractTest(
    "in a batch nothing after a refused message is stored; resends in it are still found",
    async (repo) => {
      const { tom, jack, stored } = await tomAndJack(repo);
      const quota = { ...OFF, dailyBytes: 6 };
      const [kept] = await repo.saveMessagesWithin([message(tom, jack, "ab", "k")], quota);
      const outcomes = await repo.saveMessagesWithin([
        message(tom, jack, "cd"),
        message(tom, jack, "too long"),
        message(tom, jack, "e"),
        message(tom, jack, "ab", "k"),
      ], quota);
      // "e" would fit, but it came after a refused message and must not overtake it.
      assert.deepEqual(verdicts(outcomes), [
        "cd",
        "refused:daily_bytes",
        "refused:daily_bytes",
        "dup:ab",
      ]);
      assert.deepEqual(outcomes[3], {
        duplicate: true,
        message: (kept as { message: unknown }).message,
      });
      assert.deepEqual(await stored(), ["ab", "cd"]);
    },
  );

  contractTest("quotas of 0 are off, and saves without a quota are never refused", async (repo) => {
    const { tom, jack, stored } = await tomAndJack(repo);
    const texts = ["1", "2", "3", "4"];
    assert.deepEqual(
      verdicts(await repo.saveMessagesWithin(texts.map((t) => message(tom, jack, t)), OFF)),
      texts,
    );
    // Without a quota, or with every quota off, nothing is counted.
    await repo.saveMessages(texts.map((t) => message(tom, jack, `no quota ${t}`)));
    const quota = { ...OFF, dailyMessages: 1 };
    const outcomes = await repo.saveMessagesWithin(
      [message(tom, jack, "5"), message(tom, jack, "6")],
      quota,
    );
    assert.deepEqual(verdicts(outcomes), ["5", "refused:daily_messages"]);
    assert.equal((await stored()).length, 9);
  });

  contractTest("waitingCount counts what waits for the receiver, up to the limit", async (repo) => {
    const { tom, jack } = await tomAndJack(repo);
    assert.equal(await repo.waitingCount(jack.id, tom.id, 10), 0);
    const saved = await repo.saveMessages(["1", "2", "3", "4"].map((t) => message(tom, jack, t)));
    assert.equal(await repo.waitingCount(jack.id, tom.id, 10), 4);
    assert.equal(await repo.waitingCount(jack.id, tom.id, 3), 3);
    assert.equal(await repo.waitingCount(tom.id, jack.id, 10), 0);
    await repo.markDelivered(saved.map((s) => s.message.messageId));
    assert.equal(await repo.waitingCount(jack.id, tom.id, 10), 0);
  });

  contractTest("a user with counted usage can be erased", async (repo) => {
    const { tom, jack } = await tomAndJack(repo);
    const quota = { ...OFF, dailyMessages: 10 };
    await repo.saveMessagesWithin([message(tom, jack, "1"), message(jack, tom, "2")], quota);
    assert.deepEqual(await repo.deleteUser(tom.id), { messages: 2 });
    assert.deepEqual(verdicts(await repo.saveMessagesWithin([message(jack, jack, "me")], quota)), [
      "me",
    ]);
  });

  contractTest(
    "a long batch of messages without ids, one with an id among them, is stored in order up to the quota",
    async (repo) => {
      const { tom, jack } = await tomAndJack(repo);
      const texts = Array.from({ length: 150 }, (_, i) => `m${i}`);
      const batch = texts.map((t, i) => message(tom, jack, t, i === 70 ? "with-id" : null));
      const outcomes = await repo.saveMessagesWithin(batch, { ...OFF, dailyMessages: 140 });
      assert.deepEqual(verdicts(outcomes), [
        ...texts.slice(0, 140),
        ...Array(10).fill("refused:daily_messages"),
      ]);
      const ids = outcomes.slice(0, 140).map((o) => "message" in o ? o.message.messageId : 0);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.equal(new Set(ids).size, 140);
      const waiting = await repo.waitingMessages(jack.id, tom.id, 0, 1000);
      assert.deepEqual(waiting.map((m) => m.msg), texts.slice(0, 140));
      // The id'd one is found again, not stored twice, even past the quota.
      const [again] = await repo.saveMessagesWithin([batch[70]], { ...OFF, dailyMessages: 140 });
      assert.ok("message" in again && again.duplicate && again.message.messageId === ids[70]);
    },
  );
}
