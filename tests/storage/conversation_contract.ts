/**
 * The part of the repository conformance suite for conversation state (issue 12): the list, one
 * conversation, its peers, read markers and delivered cursors, kept with every save (also within
 * a quota, and in batches) and gone with an erased user. Run by `repositoryContract`.
 */
import assert from "node:assert/strict";
import type { NewMessage, Repository, UserRef } from "../../lib/storage/repository.ts";
import { addUser, type ContractTest } from "./contract_support.ts";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

function message(from: UserRef, to: UserRef, msg: string): NewMessage {
  return { from, to, msg, sendTime: "2024-05-01 12:00:00", sentAt: NOW, clientId: null };
}

/** Saves one message; returns its id. */
async function send(repo: Repository, from: UserRef, to: UserRef, msg: string): Promise<number> {
  const [saved] = await repo.saveMessages([message(from, to, msg)]);
  return saved.message.messageId;
}

/** The list as `peer:unread:last text`, for compact assertions. */
async function listOf(repo: Repository, user: UserRef, limit = 50, beforeId?: number) {
  const page = await repo.conversations(user.id, { limit, beforeId });
  return page.map((c) => `${c.peer.username}:${c.unread}:${c.lastMessage.msg}`);
}

/** Registers the tests with the suite's `contractTest`. */
export function conversationContract(contractTest: ContractTest): void {
  contractTest(
    "a conversation exists once a message went either way, for both users",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      assert.deepEqual(await repo.conversations(tom.id, { limit: 10 }), []);
      assert.equal(await repo.conversation(jack.id, tom.id), null);
      const id = await send(repo, tom, jack, "hi Jack");
      assert.deepEqual(await listOf(repo, tom), ["Jack:0:hi Jack"]);
      assert.deepEqual(await listOf(repo, jack), ["Tom:1:hi Jack"]);
      const jacks = await repo.conversation(jack.id, tom.id);
      assert.deepEqual(jacks, {
        peer: { id: tom.id, username: "Tom" },
        peerLastSeenAt: null,
        unread: 1,
        readUpto: 0,
        peerReadUpto: 0,
        lastMessage: {
          messageId: id,
          fromUser: "Tom",
          toUser: "Jack",
          msg: "hi Jack",
          sendTime: "2024-05-01 12:00:00",
        },
      });
      assert.deepEqual(await repo.conversationPeers(jack.id), [tom.id]);
    },
  );

  contractTest("the list is most recent activity first, paged by last message id", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    const bob = await addUser(repo, "Bob");
    await send(repo, jack, tom, "from Jack");
    await send(repo, alice, tom, "from Alice");
    await send(repo, tom, bob, "to Bob");
    // A batch of Jack's makes his conversation the newest again; unread counts each.
    await repo.saveMessages([message(jack, tom, "j2"), message(jack, tom, "j3")]);
    assert.deepEqual(await listOf(repo, tom), ["Jack:3:j3", "Bob:0:to Bob", "Alice:1:from Alice"]);
    const first = await repo.conversations(tom.id, { limit: 2 });
    assert.deepEqual(first.map((c) => c.peer.username), ["Jack", "Bob"]);
    const before = first[1].lastMessage.messageId;
    assert.deepEqual(await listOf(repo, tom, 2, before), ["Alice:1:from Alice"]);
    assert.deepEqual(
      (await repo.conversationPeers(tom.id)).sort(),
      [jack.id, alice.id, bob.id].sort(),
    );
  });

  contractTest("messages saved within a quota keep the conversation too", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const quota = { dailyMessages: 100, dailyBytes: 100_000, waitingMessages: 100 };
    await repo.saveMessagesWithin([message(tom, jack, "q1"), message(tom, jack, "q2")], quota);
    assert.deepEqual(await listOf(repo, jack), ["Tom:2:q2"]);
    // A resend of nothing new (no client id here) is a new message; a duplicate id is not.
    const withId = { ...message(tom, jack, "q3"), clientId: "c-1" };
    await repo.saveMessagesWithin([withId], quota);
    await repo.saveMessagesWithin([withId], quota);
    assert.deepEqual(await listOf(repo, jack), ["Tom:3:q3"]);
  });

  contractTest(
    "the read marker moves forward only, to a message from the peer, and recounts unread",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      const j1 = await send(repo, jack, tom, "j1");
      const t1 = await send(repo, tom, jack, "t1");
      const j2 = await send(repo, jack, tom, "j2");
      const j3 = await send(repo, jack, tom, "j3");
      assert.deepEqual(await repo.markRead(tom.id, jack.id, j2), {
        moved: true,
        readUpto: j2,
        unread: 1,
      });
      // Backwards: stays.
      assert.deepEqual(await repo.markRead(tom.id, jack.id, j1), {
        moved: false,
        readUpto: j2,
        unread: 1,
      });
      // Not a message from Jack to Tom: my own, an unknown id, or Jack's to someone else.
      assert.equal(await repo.markRead(tom.id, jack.id, t1), null);
      assert.equal(await repo.markRead(tom.id, jack.id, j3 + 1000), null);
      assert.equal(await repo.markRead(jack.id, tom.id, j3), null);
      const toms = await repo.conversation(tom.id, jack.id);
      assert.equal(toms?.readUpto, j2);
      // Jack sees how far Tom read his messages.
      assert.equal((await repo.conversation(jack.id, tom.id))?.peerReadUpto, j2);
      assert.deepEqual(await repo.markRead(tom.id, jack.id, j3), {
        moved: true,
        readUpto: j3,
        unread: 0,
      });
      await send(repo, jack, tom, "j4");
      assert.equal((await repo.conversation(tom.id, jack.id))?.unread, 1);
    },
  );

  contractTest(
    "the delivered cursor is the highest id with every earlier one delivered",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      const alice = await addUser(repo, "Alice");
      assert.equal(await repo.deliveredUpto(tom.id, jack.id), 0);
      const j1 = await send(repo, jack, tom, "j1");
      const j2 = await send(repo, jack, tom, "j2");
      const a1 = await send(repo, alice, tom, "a1");
      const t1 = await send(repo, tom, jack, "t1");
      const j3 = await send(repo, jack, tom, "j3");
      assert.equal(await repo.deliveredUpto(tom.id, jack.id), 0);
      await repo.markDelivered([j1, a1, t1]);
      assert.equal(await repo.deliveredUpto(tom.id, jack.id), j1);
      assert.equal(await repo.deliveredUpto(tom.id, alice.id), a1);
      assert.equal(await repo.deliveredUpto(jack.id, tom.id), t1);
      // j3 delivered before j2 (overtaken on the wire): the cursor stays below j2 until it goes.
      await repo.markDelivered([j3]);
      assert.equal(await repo.deliveredUpto(tom.id, jack.id), j1);
      await repo.markDelivered([j2]);
      assert.equal(await repo.deliveredUpto(tom.id, jack.id), j3);
      // Other directions and users do not count.
      assert.equal(await repo.deliveredUpto(jack.id, alice.id), 0);
    },
  );

  contractTest(
    "one save of mixed directions counts every message, ids and resends as well",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      const withId = { ...message(tom, jack, "t3"), clientId: "c-9" };
      await repo.saveMessages([
        message(tom, jack, "t1"),
        message(tom, jack, "t2"),
        message(jack, tom, "j1"),
        withId,
        message(tom, tom, "note"),
        withId, // the same id again in the batch: one message
      ]);
      assert.deepEqual(await listOf(repo, jack), ["Tom:3:t3"]);
      assert.deepEqual(await listOf(repo, tom), ["Tom:0:note", "Jack:1:t3"]);
      await repo.saveMessages([withId, message(jack, tom, "j2")]);
      assert.deepEqual(await listOf(repo, jack), ["Tom:3:j2"]);
      assert.deepEqual(await listOf(repo, tom), ["Jack:2:j2", "Tom:0:note"]);
    },
  );

  contractTest("a note to self is one conversation without unread", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const id = await send(repo, tom, tom, "note");
    assert.deepEqual(await listOf(repo, tom), ["Tom:0:note"]);
    assert.deepEqual(await repo.conversationPeers(tom.id), []);
    assert.deepEqual(await repo.markRead(tom.id, tom.id, id), {
      moved: true,
      readUpto: id,
      unread: 0,
    });
  });

  contractTest("erasing a user removes their conversations from everyone's list", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    await send(repo, jack, tom, "from Jack");
    await send(repo, alice, tom, "from Alice");
    await send(repo, tom, jack, "to Jack");
    await repo.deleteUser(jack.id);
    assert.deepEqual(await listOf(repo, tom), ["Alice:1:from Alice"]);
    assert.deepEqual(await repo.conversationPeers(tom.id), [alice.id]);
  });

  contractTest("the list shows the peer's last_seen", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    await send(repo, jack, tom, "hi");
    await repo.recordPresence({ userId: jack.id, online: false, at: NOW + 5000, event: false });
    const [item] = await repo.conversations(tom.id, { limit: 10 });
    assert.equal(item.peerLastSeenAt, NOW + 5000);
  });
}
