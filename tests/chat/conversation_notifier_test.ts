/**
 * The notifier against the real in-process hub and a real SQLite repository, counting what it
 * asks of them: a pair of seed sockets (no v2 socket, no inbox) costs no frame push and no query
 * (issue 14), while v2 sockets and inboxes get what they always got, in the same order; a hub
 * that has to answer later (as Redis does) never lets a 30013 overtake an earlier one.
 */
import assert from "node:assert/strict";
import { ConversationNotifier } from "../../lib/chat/conversation_notifier.ts";
import { type Endpoint, type Hub, INBOX_PEER } from "../../lib/hub/hub.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { silentLogger } from "../../lib/log.ts";
import { CHAT_STATUS } from "../../lib/protocol/status.ts";
import { deliveredFrame, sentFrame } from "../../lib/protocol/server_frame.ts";
import type { Repository, StoredMessage } from "../../lib/storage/repository.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { sqliteOptions } from "../support/backend_options.ts";
import { FakeEndpoint } from "../support/fake_endpoint.ts";
import { addUser } from "../storage/contract_support.ts";

/** The in-process hub, counting the pushes asked of it. */
class CountingHub extends MemoryHub {
  pushes = 0;

  override pushToPair(userId: number, peerId: number, frame: string, except?: Endpoint) {
    this.pushes++;
    return super.pushToPair(userId, peerId, frame, except);
  }
}

/**
 * `hub` as the notifier sees it, but its first `mayHaveV2OnPair` answers only on `release()`,
 * as a Redis node answers when it has to ask Redis.
 */
function answeringFirstLater(hub: Hub) {
  const gate = Promise.withResolvers<void>();
  let asked = false;
  const slow = new Proxy(hub, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (name !== "mayHaveV2OnPair" || typeof value !== "function") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (userId: number, peerId: number) => {
        const answer = value.call(target, userId, peerId);
        if (asked) return answer;
        asked = true;
        return gate.promise.then(() => answer);
      };
    },
  });
  return { hub: slow, release: () => gate.resolve() };
}

/** `base`, counting the calls of each method. */
function counting(base: Repository): { repository: Repository; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const repository = new Proxy(base, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function" || typeof name !== "string") return value;
      return (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { repository, calls };
}

async function fixture(notifierHub: (hub: Hub) => Hub = (hub) => hub) {
  const hub = new CountingHub();
  const base = new SqliteRepository(":memory:", sqliteOptions());
  const user = (name: string) => addUser(base, name);
  const tom = await user("Tom");
  const jack = await user("Jack");
  /** Stores a message from Tom to Jack and marks it delivered, as a seed socket of Jack would. */
  const store = async (msg: string): Promise<StoredMessage> => {
    const [saved] = await base.saveMessages([
      { from: tom, to: jack, msg, sendTime: "2026-12-01 18:00:00", sentAt: 0, clientId: null },
    ]);
    await base.markDelivered([saved.message.messageId]);
    return saved.message;
  };
  const { repository, calls } = counting(base);
  const notifier = new ConversationNotifier({
    repository,
    hub: notifierHub(hub),
    log: silentLogger,
  });
  const join = async (endpoint: FakeEndpoint) => {
    await hub.join(endpoint);
    return endpoint;
  };
  return {
    hub,
    tom,
    jack,
    store,
    calls,
    notifier,
    join,
    async [Symbol.asyncDispose]() {
      await notifier.settled();
      await base.close();
    },
  };
}

function sent(message: StoredMessage): string {
  return sentFrame({
    msg: message.msg,
    toUser: message.toUser,
    sendTime: message.sendTime,
    messageId: message.messageId,
  });
}

function statuses(endpoint: FakeEndpoint): number[] {
  return endpoint.frames.all.map((frame) => JSON.parse(frame).status);
}

Deno.test("a pair of seed sockets: a stored and delivered message costs no push and no query", async () => {
  await using f = await fixture();
  const tomSeed = await f.join(new FakeEndpoint(f.tom, f.jack));
  const jackSeed = await f.join(new FakeEndpoint(f.jack, f.tom));
  // Tom's v2 socket with Alice and Jack's v2 socket on the reverse pair are not Tom's on the pair.
  const jackV2 = await f.join(new FakeEndpoint(f.jack, f.tom, { v2: true }));
  const message = await f.store("hello");
  f.calls.clear();
  f.notifier.messageStored(message, f.tom, f.jack, tomSeed);
  f.notifier.delivered([{ receiverId: f.jack.id, senderId: f.tom.id }]);
  await f.notifier.settled();
  assert.equal(f.hub.pushes, 0, "no 30013, 30016 or 30021 push");
  assert.deepEqual([...f.calls.keys()], [], "no deliveredUpto, no conversation read");
  // Only the 30098 of Jack's join.
  assert.deepEqual(statuses(tomSeed), [CHAT_STATUS.PEER_LOGIN]);
  assert.deepEqual([...jackSeed.frames.all, ...jackV2.frames.all], []);
});

Deno.test("a v2 socket and the inboxes still get 30013 at once, then 30016, and 30021 each", async () => {
  await using f = await fixture();
  const tomSeed = await f.join(new FakeEndpoint(f.tom, f.jack));
  const tomV2 = await f.join(new FakeEndpoint(f.tom, f.jack, { v2: true }));
  const tomInbox = await f.join(new FakeEndpoint(f.tom, INBOX_PEER, { v2: true }));
  const jackInbox = await f.join(new FakeEndpoint(f.jack, INBOX_PEER, { v2: true }));
  const message = await f.store("hello");
  f.calls.clear();
  f.notifier.messageStored(message, f.tom, f.jack, tomSeed);
  // Pushed before messageStored returned: still right after the message's publish.
  assert.deepEqual(tomV2.frames.all, [sent(message)]);
  f.notifier.delivered([{ receiverId: f.jack.id, senderId: f.tom.id }]);
  await f.notifier.settled();
  assert.deepEqual(tomV2.frames.all, [sent(message), deliveredFrame(message.messageId)]);
  for (const inbox of [tomInbox, jackInbox]) {
    assert.deepEqual(statuses(inbox), [CHAT_STATUS.CONVERSATION_UPDATED]);
  }
  assert.equal(f.calls.get("deliveredUpto"), 1);
  assert.equal(f.calls.get("conversation"), 2);
  assert.deepEqual(tomSeed.frames.all, [], "the origin and a seed socket get none of it");
});

Deno.test("an inbox alone gets its 30021 and no 30013 or 30016 is pushed", async () => {
  await using f = await fixture();
  const tomSeed = await f.join(new FakeEndpoint(f.tom, f.jack));
  const jackInbox = await f.join(new FakeEndpoint(f.jack, INBOX_PEER, { v2: true }));
  const message = await f.store("hello");
  f.calls.clear();
  f.notifier.messageStored(message, f.tom, f.jack, tomSeed);
  f.notifier.delivered([{ receiverId: f.jack.id, senderId: f.tom.id }]);
  await f.notifier.settled();
  assert.deepEqual(statuses(jackInbox), [CHAT_STATUS.CONVERSATION_UPDATED]);
  assert.equal(f.hub.pushes, 1, "only Jack's 30021");
  assert.deepEqual([...f.calls.entries()], [["conversation", 1]]);
});

Deno.test("a 30013 whose answer comes later is not overtaken by the next one of the pair", async () => {
  let release = () => {};
  await using f = await fixture((hub) => {
    const slow = answeringFirstLater(hub);
    release = slow.release;
    return slow.hub;
  });
  const tomSeed = await f.join(new FakeEndpoint(f.tom, f.jack));
  const tomV2 = await f.join(new FakeEndpoint(f.tom, f.jack, { v2: true }));
  const first = await f.store("one");
  const second = await f.store("two");
  f.notifier.messageStored(first, f.tom, f.jack, tomSeed);
  // The hub would answer this one at once; it waits behind the first.
  f.notifier.messageStored(second, f.tom, f.jack, tomSeed);
  const settled = f.notifier.settled();
  await Promise.resolve();
  assert.deepEqual(tomV2.frames.all, [], "nothing before the first answer");
  release();
  await settled;
  assert.deepEqual(tomV2.frames.all, [sent(first), sent(second)]);
});

Deno.test("a v2 sender's only socket on the pair gets no 30013 of its own message, still its 30016", async () => {
  await using f = await fixture();
  const tomV2 = await f.join(new FakeEndpoint(f.tom, f.jack, { v2: true }));
  const message = await f.store("hello");
  f.notifier.messageStored(message, f.tom, f.jack, tomV2);
  await f.notifier.settled();
  assert.equal(f.hub.pushes, 0, "no 30013 built or pushed for the origin alone");
  f.notifier.delivered([{ receiverId: f.jack.id, senderId: f.tom.id }]);
  await f.notifier.settled();
  assert.deepEqual(tomV2.frames.all, [deliveredFrame(message.messageId)]);
});
