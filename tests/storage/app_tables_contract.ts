/**
 * The part of the repository conformance suite for what plugs the service into an app (issue
 * 13): user changes and erasure, presence times, API keys and the webhook outbox. Run by
 * `repositoryContract` for every implementation.
 */
import assert from "node:assert/strict";
import type { ClaimRequest, NewMessage, UserRef } from "../../lib/storage/repository.ts";
import { addUser, type ContractTest } from "./contract_support.ts";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
const HOUR_MS = 3_600_000;

function message(
  from: UserRef,
  to: UserRef,
  msg: string,
  events: NewMessage["events"] = [],
  clientId: string | null = null,
): NewMessage {
  return { from, to, msg, sendTime: "2024-05-01 12:00:00", sentAt: NOW, clientId, events };
}

function claim(owner: string, now = NOW, limit = 100): ClaimRequest {
  return { now, leaseUntil: now + 60_000, owner, limit };
}

/** Registers the tests with the suite's `contractTest`. */
export function appTablesContract(contractTest: ContractTest): void {
  contractTest(
    "updateUser changes the password hash and email; absent fields stay",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      await repo.updateUser(tom.id, { email: "tom@example.com" });
      assert.equal((await repo.findUser("tom"))?.passwordHash, "hash-of-Tom");
      assert.equal((await repo.findUser("tom"))?.email, "tom@example.com");
      await repo.updateUser(tom.id, { passwordHash: "new-hash" });
      assert.equal((await repo.findUser("tom"))?.passwordHash, "new-hash");
      assert.equal((await repo.findUser("tom"))?.email, "tom@example.com");
      await repo.updateUser(tom.id, { email: null });
      assert.equal((await repo.findUser("tom"))?.email, null);
    },
  );

  contractTest(
    "a message's webhook events are stored with it, not with a duplicate",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      const types = ["message.waiting", "message.created"] as const;
      const [first] = await repo.saveMessages([message(tom, jack, "hi", types, "c-1")]);
      const [again] = await repo.saveMessages([message(tom, jack, "hi", types, "c-1")]);
      assert.equal(again.duplicate, true);
      await repo.saveMessages([message(tom, jack, "no events")]);
      assert.deepEqual(await repo.webhookBacklog(), { pending: 2, oldestCreatedAt: NOW });
      // One user's events go one at a time, oldest first.
      const [head] = await repo.claimWebhookEvents(claim("node-a"));
      assert.equal(head.type, "message.waiting");
      assert.equal(head.attempts, 0);
      assert.match(head.eventId, /^[0-9a-f-]{36}$/);
      assert.equal(head.createdAt, NOW);
      assert.deepEqual(head.message, first.message);
      assert.equal(head.user, null);
      assert.deepEqual(await repo.claimWebhookEvents(claim("node-b")), [], "the queue is held");
      assert.ok(await repo.settleWebhookEvent(head.seq, "node-a", { kind: "sent" }));
      const [next] = await repo.claimWebhookEvents(claim("node-b"));
      assert.equal(next.type, "message.created");
      assert.ok(next.seq > head.seq);
      assert.ok(await repo.settleWebhookEvent(next.seq, "node-b", { kind: "sent" }));
      assert.deepEqual(await repo.webhookBacklog(), { pending: 0, oldestCreatedAt: null });
    },
  );

  contractTest("the events of different users are claimed side by side", async (repo) => {
    const tom = await addUser(repo, "Tom");
    const jack = await addUser(repo, "Jack");
    const alice = await addUser(repo, "Alice");
    await repo.saveMessages([
      message(tom, jack, "1", ["message.waiting"]),
      message(tom, jack, "2", ["message.waiting"]),
    ]);
    await repo.saveMessages([message(tom, alice, "3", ["message.waiting"])]);
    const claimed = await repo.claimWebhookEvents(claim("node-a"));
    assert.deepEqual(claimed.map((event) => event.message?.msg), ["1", "3"]);
  });

  contractTest(
    "a retry waits for its time and counts the attempt; a failed event stops",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      await repo.saveMessages([
        message(tom, jack, "1", ["message.waiting"]),
        message(tom, jack, "2", ["message.waiting"]),
      ]);
      const [first] = await repo.claimWebhookEvents(claim("a"));
      const retry = { kind: "retry", nextAttemptAt: NOW + 5000, error: "HTTP 500" } as const;
      assert.ok(await repo.settleWebhookEvent(first.seq, "a", retry));
      assert.deepEqual(await repo.claimWebhookEvents(claim("a", NOW + 4999)), []);
      const [again] = await repo.claimWebhookEvents(claim("a", NOW + 5000));
      assert.equal(again.seq, first.seq);
      assert.equal(again.attempts, 1);
      assert.ok(
        await repo.settleWebhookEvent(again.seq, "a", { kind: "failed", error: "too old" }),
      );
      // Failed: never claimed again, and no longer holding the user's queue.
      const [second] = await repo.claimWebhookEvents(claim("a", NOW + 6000));
      assert.equal(second.message?.msg, "2");
      assert.deepEqual(await repo.webhookBacklog(), { pending: 1, oldestCreatedAt: NOW });
    },
  );

  contractTest(
    "a lease that ran out may be claimed by another; the old claim cannot settle",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      await repo.saveMessages([message(tom, jack, "1", ["message.created"])]);
      const [event] = await repo.claimWebhookEvents(claim("a"));
      assert.deepEqual(await repo.claimWebhookEvents(claim("b", NOW + 59_999)), []);
      const [taken] = await repo.claimWebhookEvents(claim("b", NOW + 60_000));
      assert.equal(taken.seq, event.seq);
      assert.equal(await repo.settleWebhookEvent(event.seq, "a", { kind: "sent" }), false);
      assert.ok(await repo.settleWebhookEvent(taken.seq, "b", { kind: "sent" }));
    },
  );

  contractTest("claims made at the same moment never share an event", async (repo) => {
    const senders = [];
    for (let i = 0; i < 6; i++) senders.push(await addUser(repo, `user${i}`));
    const jack = await addUser(repo, "Jack");
    for (const sender of senders) {
      await repo.saveMessages([message(sender, jack, sender.username, ["message.created"])]);
      await repo.saveMessages([message(jack, sender, "back", ["message.created"])]);
    }
    const owners = ["a", "b", "c", "d"];
    const claims = await Promise.all(owners.map((owner) => repo.claimWebhookEvents(claim(owner))));
    const seqs = claims.flat().map((event) => event.seq);
    assert.equal(new Set(seqs).size, seqs.length, "no event claimed twice");
    // Jack's queue has one head; the six others one each.
    assert.equal(seqs.length, 7);
  });

  contractTest(
    "recordPresence sets lastSeenAt and records the user event when asked",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      assert.equal((await repo.findUser("tom"))?.lastSeenAt, null);
      await repo.recordPresence({ userId: tom.id, online: true, at: NOW, event: true });
      await repo.recordPresence({ userId: tom.id, online: false, at: NOW + 1000, event: false });
      assert.equal((await repo.findUser("tom"))?.lastSeenAt, NOW + 1000);
      const [online] = await repo.claimWebhookEvents(claim("a", NOW + 2000));
      assert.equal(online.type, "user.online");
      assert.equal(online.createdAt, NOW);
      assert.deepEqual(online.user, { username: "Tom", lastSeenAt: NOW + 1000 });
      assert.equal(online.message, null);
      await repo.settleWebhookEvent(online.seq, "a", { kind: "sent" });
      assert.deepEqual(await repo.claimWebhookEvents(claim("a", NOW + 2000)), []);
    },
  );

  contractTest("API keys: stored by name and hash, listed, found, deleted", async (repo) => {
    assert.ok(await repo.createApiKey({ name: "billing", keyHash: "h1", createdAt: NOW }));
    assert.ok(await repo.createApiKey({ name: "app", keyHash: "h2", createdAt: NOW + 1 }));
    assert.equal(await repo.createApiKey({ name: "app", keyHash: "h3", createdAt: NOW }), false);
    assert.deepEqual(await repo.findApiKey("h1"), { name: "billing", createdAt: NOW });
    assert.equal(await repo.findApiKey("h3"), null);
    assert.deepEqual(await repo.listApiKeys(), [
      { name: "app", createdAt: NOW + 1 },
      { name: "billing", createdAt: NOW },
    ]);
    assert.ok(await repo.deleteApiKey("app"));
    assert.equal(await repo.deleteApiKey("app"), false);
    assert.equal(await repo.findApiKey("h2"), null);
  });

  contractTest(
    "deleteUser erases the user, their tokens, messages both ways and events",
    async (repo) => {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      const alice = await addUser(repo, "Alice");
      await repo.createToken({
        tokenHash: "t",
        userId: tom.id,
        createdAt: NOW,
        expiresAt: NOW + HOUR_MS,
      });
      await repo.saveMessages([message(tom, jack, "to jack", ["message.waiting"])]);
      await repo.saveMessages([message(jack, tom, "to tom", ["message.waiting"])]);
      await repo.saveMessages([message(tom, tom, "to self")]);
      await repo.saveMessages([message(jack, alice, "stays", ["message.waiting"])]);
      await repo.recordPresence({ userId: tom.id, online: true, at: NOW, event: true });

      assert.deepEqual(await repo.deleteUser(tom.id), { messages: 3 });
      assert.equal(await repo.findUser("tom"), null);
      assert.equal(await repo.findSession("t", NOW), null);
      assert.deepEqual(await repo.history(jack.id, tom.id, { limit: 10 }), []);
      const kept = await repo.history(jack.id, alice.id, { limit: 10 });
      assert.deepEqual(kept.map((m) => m.msg), ["stays"]);
      const events = await repo.claimWebhookEvents(claim("a"));
      assert.deepEqual(events.map((event) => event.message?.msg), ["stays"]);
      assert.equal(await repo.deleteUser(tom.id), null);
      // The name is free again.
      assert.ok(
        await repo.createUser({
          username: "Tom",
          usernameKey: "tom",
          passwordHash: "",
          email: null,
          createdAt: NOW,
        }),
      );
    },
  );
}
