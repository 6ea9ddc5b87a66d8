/** `quota.ts`: the verdict for one message, the day a usage counts for, a batch's ledger. */
import assert from "node:assert/strict";
import {
  type DailyUsage,
  DAY_MS,
  QuotaLedger,
  refusalFor,
  type StorageQuota,
  usageOn,
} from "../../lib/storage/quota.ts";
import type { NewMessage, UserRef } from "../../lib/storage/repository.ts";

const DAY = 19844; // 2024-05-01
const NOON = DAY * DAY_MS + DAY_MS / 2;
const ALL: StorageQuota = { dailyMessages: 3, dailyBytes: 10, waitingMessages: 2 };
const TOM: UserRef = { id: 1, username: "Tom" };
const JACK: UserRef = { id: 2, username: "Jack" };
const ALICE: UserRef = { id: 3, username: "Alice" };

function usage(messages: number, bytes: number, day = DAY): DailyUsage {
  return { day, messages, bytes };
}

/** A ledger over `ALL` whose reads of storage are recorded in `reads`. */
function recordingLedger(
  reads: string[],
  stored: DailyUsage,
  waitingFor: (toUserId: number) => number,
): QuotaLedger {
  return new QuotaLedger(ALL, {
    usage: (userId) => {
      reads.push(`usage ${userId}`);
      return stored;
    },
    waiting: (to, from, limit) => {
      reads.push(`waiting ${to}<${from} up to ${limit}`);
      return waitingFor(to);
    },
  });
}

function message(to: UserRef, msg: string, sentAt = NOON): NewMessage {
  return { from: TOM, to, msg, sendTime: "", sentAt, clientId: null };
}

Deno.test("a message fits until a quota would be passed; the daily ones are named first", () => {
  assert.equal(refusalFor(ALL, usage(2, 9), 1, 1, NOON), null);
  assert.deepEqual(refusalFor(ALL, usage(3, 0), 0, 1, NOON), {
    quota: "daily_messages",
    limit: 3,
    retryAfterMs: DAY_MS / 2,
  });
  assert.equal(refusalFor(ALL, usage(0, 9), 0, 2, NOON)?.quota, "daily_bytes");
  assert.deepEqual(refusalFor(ALL, usage(0, 0), 2, 1, NOON), {
    quota: "waiting",
    limit: 2,
    retryAfterMs: null,
  });
  // Over both: the daily quota, since the receiver cannot make room before tomorrow.
  assert.equal(refusalFor(ALL, usage(3, 0), 2, 1, NOON)?.quota, "daily_messages");
  const off = { dailyMessages: 0, dailyBytes: 0, waitingMessages: 0 };
  assert.equal(refusalFor(off, usage(1e9, 1e12), 1e9, 1e6, NOON), null);
});

Deno.test("a new UTC day starts from 0; a stored day ahead of the clock is counted into", () => {
  assert.deepEqual(usageOn(null, DAY), usage(0, 0));
  assert.deepEqual(usageOn(usage(5, 50, DAY - 1), DAY), usage(0, 0));
  assert.deepEqual(usageOn(usage(5, 50), DAY), usage(5, 50));
  // Another node's clock is already past midnight: its day goes on, no reset.
  assert.deepEqual(usageOn(usage(5, 50, DAY + 1), DAY), usage(5, 50, DAY + 1));
  assert.equal(refusalFor(ALL, usage(3, 0, DAY + 1), 0, 1, NOON)?.retryAfterMs, DAY_MS * 1.5);
});

Deno.test("a ledger reads each sender and pair once and counts what the batch stored", () => {
  const reads: string[] = [];
  // Yesterday's usage: counts as 0 today.
  const ledger = recordingLedger(reads, usage(1, 4, DAY - 1), (to) => to === JACK.id ? 1 : 0);
  const toJack = message(JACK, "ab");
  assert.equal(ledger.check(toJack), null);
  ledger.charge(toJack);
  assert.equal(ledger.check(message(JACK, "cd"))?.quota, "waiting");
  const toAlice = message(ALICE, "日本");
  assert.equal(ledger.check(toAlice), null);
  ledger.charge(toAlice);
  assert.equal(ledger.check(message(ALICE, "toolong"))?.quota, "daily_bytes");
  assert.deepEqual(ledger.changes(), [[TOM.id, usage(2, 8)]]);
  assert.deepEqual(reads, ["usage 1", "waiting 2<1 up to 2", "waiting 3<1 up to 2"]);
});

Deno.test("a ledger with the waiting quota off never counts what waits", () => {
  const ledger = new QuotaLedger({ ...ALL, waitingMessages: 0 }, {
    usage: () => null,
    waiting: () => {
      throw new Error("not counted when off");
    },
  });
  assert.equal(ledger.check(message(JACK, "hi")), null);
});

Deno.test("fitsAll tries a whole batch as if all were new, charges nothing, reads once", () => {
  const reads: string[] = [];
  const ledger = recordingLedger(reads, usage(1, 2), () => 0);
  const two = [message(JACK, "ab"), message(ALICE, "cd")];
  assert.equal(ledger.fitsAll(two), true);
  assert.deepEqual(ledger.changes(), [], "a trial charges nothing");
  // A third would pass the daily 3 messages (1 stored today + 3).
  assert.equal(ledger.fitsAll([...two, message(ALICE, "ef")]), false);
  assert.deepEqual(ledger.changes(), []);
  // The ledger goes on from where it was: two more fit, one by one, then the third does not.
  for (const m of two) {
    assert.equal(ledger.check(m), null);
    ledger.charge(m);
  }
  assert.equal(ledger.check(message(ALICE, "ef"))?.quota, "daily_messages");
  assert.deepEqual(ledger.changes(), [[TOM.id, usage(3, 6)]]);
  assert.deepEqual(reads, ["usage 1", "waiting 2<1 up to 2", "waiting 3<1 up to 2"]);
});

Deno.test("fitsAll agrees with message-by-message checks at the waiting quota and midnight", () => {
  const ledger = () =>
    new QuotaLedger(ALL, { usage: () => null, waiting: (to) => to === JACK.id ? 1 : 0 });
  // One waits for Jack, the quota is 2: one more fits, two do not.
  assert.equal(ledger().fitsAll([message(JACK, "a")]), true);
  assert.equal(ledger().fitsAll([message(JACK, "a"), message(JACK, "b")]), false);
  assert.equal(ledger().fitsAll([message(ALICE, "a"), message(ALICE, "b")]), true);
  // A sender's batch across midnight is left to the exact path.
  const lateAndEarly = [message(ALICE, "a", NOON), message(ALICE, "b", NOON + DAY_MS)];
  assert.equal(ledger().fitsAll(lateAndEarly), false);
});
