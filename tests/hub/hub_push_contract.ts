/**
 * The part of the hub conformance suite for issue 12's fan-out seam: `pushToPair` and
 * `pushToInbox` reach exactly the v2 endpoints of a pair (or the user's inbox endpoints), on
 * every node, never a seed endpoint, never the one excepted, in order with published messages;
 * an inbox endpoint counts as the user's presence but has no pair presence.
 */
import assert from "node:assert/strict";
import { type Hub, INBOX_PEER } from "../../lib/hub/hub.ts";
import { chatMessageFrame, readFrame, typingFrame } from "../../lib/protocol/server_frame.ts";
import type { StoredMessage, UserRef } from "../../lib/storage/repository.ts";
import { EventLog, FakeEndpoint } from "../support/fake_endpoint.ts";
import { ALICE, JACK, type OpenCluster, type OpenHub, TOM } from "./hub_contract_support.ts";

function message(messageId: number, from: UserRef, to: UserRef): StoredMessage {
  return {
    messageId,
    fromUser: from.username,
    toUser: to.username,
    msg: `m${messageId}`,
    sendTime: "2026-12-01 10:00:00",
  };
}

/** Registers the push tests for one hub implementation (and across two nodes when it can). */
export function hubPushContract(name: string, open: OpenHub, openCluster?: OpenCluster): void {
  function contractTest(
    behaviour: string,
    body: (hub: Hub, presence: EventLog<string>) => Promise<void>,
  ): void {
    Deno.test(`${name}: ${behaviour}`, async () => {
      const presence = new EventLog<string>("a user presence change");
      const { hub, cleanup } = await open((id, online) =>
        presence.push(`${id} ${online ? "online" : "offline"}`)
      );
      try {
        await body(hub, presence);
      } finally {
        await cleanup();
      }
    });
  }

  contractTest(
    "pushToPair reaches the v2 endpoints of that pair only, but the excepted",
    async (hub) => {
      const tomV2 = new FakeEndpoint(TOM, JACK, { v2: true });
      const tomOther = new FakeEndpoint(TOM, JACK, { v2: true });
      const tomSeed = new FakeEndpoint(TOM, JACK);
      const tomWithAlice = new FakeEndpoint(TOM, ALICE, { v2: true });
      const jackV2 = new FakeEndpoint(JACK, TOM, { v2: true });
      for (const endpoint of [tomV2, tomOther, tomSeed, tomWithAlice, jackV2]) {
        await hub.join(endpoint);
      }
      // Jack's join told Tom's endpoints 30098; read those first.
      for (const tom of [tomV2, tomOther, tomSeed]) await tom.nextFrame();
      await hub.pushToPair(TOM.id, JACK.id, readFrame("Jack", 4), tomOther);
      assert.equal(await tomV2.nextFrame(), readFrame("Jack", 4));
      // A later push to the others proves the first did not reach them.
      await hub.pushToPair(TOM.id, JACK.id, typingFrame("Jack", true));
      assert.equal(await tomV2.nextFrame(), typingFrame("Jack", true));
      assert.equal(await tomOther.nextFrame(), typingFrame("Jack", true));
      await hub.pushToPair(TOM.id, ALICE.id, typingFrame("Alice", true));
      assert.equal(await tomWithAlice.nextFrame(), typingFrame("Alice", true));
      assert.equal(tomSeed.frames.all.length, 1, "the seed endpoint got only its 30098");
      assert.deepEqual(tomWithAlice.frames.all, [typingFrame("Alice", true)]);
      assert.deepEqual(jackV2.frames.all, []);
    },
  );

  contractTest(
    "an inbox endpoint gets pushToInbox, counts as online, and has no pair presence",
    async (hub, presence) => {
      const inbox = new FakeEndpoint(TOM, INBOX_PEER, { v2: true });
      assert.deepEqual(await hub.join(inbox), { peerOnline: false });
      assert.equal(await presence.next(), "1 online");
      assert.equal(await hub.isOnline(TOM.id), true);
      assert.equal(await hub.isOnPair(TOM.id, JACK.id), false);
      // Jack opening his chat with Tom does not see Tom online on the pair.
      const jack = new FakeEndpoint(JACK, TOM, { v2: true });
      assert.equal((await hub.join(jack)).peerOnline, false);
      await hub.pushToInbox(TOM.id, "inbox frame");
      assert.equal(await inbox.nextFrame(), "inbox frame");
      await hub.pushToInbox(JACK.id, "nobody's");
      await hub.publish(message(1, JACK, TOM), JACK.id, TOM.id);
      await hub.leave(inbox);
      assert.equal(await presence.next(), "2 online");
      assert.equal(await presence.next(), "1 offline");
      assert.deepEqual(inbox.frames.all, ["inbox frame"]);
      assert.deepEqual(inbox.deliveries.all, []);
      assert.deepEqual(jack.frames.all, []);
    },
  );

  contractTest(
    "mayHaveV2OnPair is true while the user holds a v2 endpoint on the pair or an inbox",
    async (hub) => {
      const tomSeed = new FakeEndpoint(TOM, JACK);
      const tomV2 = new FakeEndpoint(TOM, JACK, { v2: true });
      const tomV2Again = new FakeEndpoint(TOM, JACK, { v2: true });
      const inbox = new FakeEndpoint(TOM, INBOX_PEER, { v2: true });
      for (const endpoint of [tomSeed, tomV2, inbox]) await hub.join(endpoint);
      assert.equal(await hub.mayHaveV2OnPair(TOM.id, JACK.id), true);
      assert.equal(await hub.mayHaveV2OnPair(TOM.id, INBOX_PEER.id), true);
      // Another v2 endpoint stays when the first leaves, beside the seed one.
      await hub.join(tomV2Again);
      await hub.leave(tomV2);
      assert.equal(await hub.mayHaveV2OnPair(TOM.id, JACK.id), true);
      assert.equal(await hub.mayHaveV2OnPair(TOM.id, INBOX_PEER.id), true);
    },
  );

  if (openCluster === undefined) return;
  const cluster = openCluster;

  Deno.test(`${name} (two nodes): mayHaveV2OnPair on one node sees a v2 endpoint or an inbox on the other`, async () => {
    const { hubs: [a, b], cleanup } = await cluster();
    try {
      await b.join(new FakeEndpoint(TOM, JACK, { v2: true }));
      await b.join(new FakeEndpoint(TOM, INBOX_PEER, { v2: true }));
      for (const hub of [a, b]) {
        assert.equal(await hub.mayHaveV2OnPair(TOM.id, JACK.id), true);
        assert.equal(await hub.mayHaveV2OnPair(TOM.id, INBOX_PEER.id), true);
      }
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${name} (two nodes): pushes reach the v2 endpoints and inboxes on every node, in order with messages`, async () => {
    const { hubs: [a, b], cleanup } = await cluster();
    try {
      const tomOnA = new FakeEndpoint(TOM, JACK, { v2: true });
      const tomOnB = new FakeEndpoint(TOM, JACK, { v2: true });
      const tomSeedOnB = new FakeEndpoint(TOM, JACK);
      const inboxOnB = new FakeEndpoint(TOM, INBOX_PEER, { v2: true });
      for (
        const [hub, endpoint] of [[a, tomOnA], [b, tomOnB], [b, tomSeedOnB], [b, inboxOnB]] as const
      ) {
        await hub.join(endpoint);
      }
      // From node A: a message from Jack, then a push after it; node B keeps the order.
      await a.publish(message(7, JACK, TOM), JACK.id, TOM.id);
      await a.pushToPair(TOM.id, JACK.id, readFrame("Jack", 7), tomOnA);
      await a.pushToInbox(TOM.id, "conversation updated");
      const delivered = await tomOnB.nextDelivery();
      assert.equal(delivered.frame, chatMessageFrame(message(7, JACK, TOM)));
      assert.equal(await tomOnB.nextFrame(), readFrame("Jack", 7));
      assert.equal(tomOnB.frames.all.length, 1);
      assert.ok(tomOnB.deliveries.all.length === 1);
      assert.equal(await inboxOnB.nextFrame(), "conversation updated");
      // The excepted endpoint on A got nothing; the seed endpoint on B neither.
      await a.pushToPair(TOM.id, JACK.id, typingFrame("Jack", false));
      assert.equal(await tomOnA.nextFrame(), typingFrame("Jack", false));
      assert.equal(await tomOnB.nextFrame(), typingFrame("Jack", false));
      assert.deepEqual(tomOnA.frames.all, [typingFrame("Jack", false)]);
      assert.deepEqual(tomSeedOnB.frames.all, []);
      assert.deepEqual(inboxOnB.frames.all, ["conversation updated"]);
    } finally {
      await cleanup();
    }
  });
}
