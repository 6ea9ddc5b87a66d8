/**
 * The conformance suite every `Hub` passes. Assertions wait for the expected event rather than
 * assuming it happened during the call, so that a hub which fans out asynchronously (through
 * Redis, say) passes too. "Nothing was sent" is checked after a later event that must arrive
 * after the one that should not have, never after a fixed sleep.
 */
import assert from "node:assert/strict";
import type { Hub } from "../../lib/hub/hub.ts";
import { hubAppContract } from "./hub_app_contract.ts";
import { hubPushContract } from "./hub_push_contract.ts";
import {
  chatMessageFrame,
  peerLoginFrame,
  peerLogoutFrame,
  TOKEN_FAILED_FRAME,
} from "../../lib/protocol/server_frame.ts";
import { CLOSE_CODE, type CloseCode } from "../../lib/protocol/status.ts";
import { DISCONNECT } from "../../lib/protocol/disconnect.ts";
import type { StoredMessage, UserRef } from "../../lib/storage/repository.ts";
import { FakeEndpoint } from "../support/fake_endpoint.ts";
import { ALICE, JACK, type OpenCluster, type OpenHub, TOM } from "./hub_contract_support.ts";

function storedMessage(
  messageId: number,
  from: UserRef,
  to: UserRef,
  msg: string,
): StoredMessage {
  return {
    messageId,
    fromUser: from.username,
    toUser: to.username,
    msg,
    sendTime: "2019-01-02 11:23:41",
  };
}

/**
 * Registers the hub conformance tests; `open` makes a fresh, empty hub for each. `openCluster`,
 * for hubs that span nodes, makes two hubs of one fresh cluster, to run the cases across nodes.
 */
export function hubContract(
  name: string,
  open: OpenHub,
  openCluster?: OpenCluster,
): void {
  // Issue 13: pair and user presence queries, erasure, user presence events.
  hubAppContract(name, open, openCluster);
  // Issue 12: pushes to the v2 endpoints of a pair and to inboxes.
  hubPushContract(name, open, openCluster);

  function contractTest(behaviour: string, body: (hub: Hub) => Promise<void>): void {
    Deno.test(`${name}: ${behaviour}`, async () => {
      const { hub, cleanup } = await open();
      try {
        await body(hub);
      } finally {
        await cleanup();
      }
    });
  }

  contractTest("join reports whether the peer is online on the reverse pair", async (hub) => {
    const tom = new FakeEndpoint(TOM, JACK);
    assert.deepEqual(await hub.join(tom), { peerOnline: false });
    // Jack chatting with Alice does not make him online for Tom.
    assert.equal((await hub.join(new FakeEndpoint(JACK, ALICE))).peerOnline, false);
    assert.equal((await hub.join(new FakeEndpoint(JACK, TOM))).peerOnline, true);
    // Tom is on (Tom -> Jack), not on (Tom -> Alice).
    assert.equal((await hub.join(new FakeEndpoint(ALICE, TOM))).peerOnline, false);
  });

  contractTest("a user's first join on a pair tells every peer endpoint", async (hub) => {
    const jack1 = new FakeEndpoint(JACK, TOM);
    const jack2 = new FakeEndpoint(JACK, TOM);
    const jackWithAlice = new FakeEndpoint(JACK, ALICE);
    await hub.join(jack1);
    await hub.join(jack2);
    await hub.join(jackWithAlice);
    const tom = new FakeEndpoint(TOM, JACK);
    assert.equal((await hub.join(tom)).peerOnline, true);

    const expected = '{"status":30098,"msg":"Target user Tom login","body":{}}';
    assert.equal(peerLoginFrame("Tom"), expected);
    for (const jack of [jack1, jack2]) {
      const frame = await jack.nextFrame();
      assert.equal(frame, expected);
      assert.deepEqual(Object.keys(JSON.parse(frame)), ["status", "msg", "body"]);
    }

    // Alice's login is the first frame on Jack's pair with Alice: Tom's went elsewhere.
    await hub.join(new FakeEndpoint(ALICE, JACK));
    assert.equal(await jackWithAlice.nextFrame(), peerLoginFrame("Alice"));
    assert.deepEqual(jackWithAlice.frames.all, [peerLoginFrame("Alice")]);

    // The joiner learns of its peer from `peerOnline`, not from a frame.
    await hub.leave(jack1);
    await hub.leave(jack2);
    assert.equal(await tom.nextFrame(), peerLogoutFrame("Jack"));
    assert.deepEqual(tom.frames.all, [peerLogoutFrame("Jack")]);
  });

  contractTest("a second endpoint of a user on a pair tells the peer nothing", async (hub) => {
    const jack = new FakeEndpoint(JACK, TOM);
    await hub.join(jack);
    const tom1 = new FakeEndpoint(TOM, JACK);
    const tom2 = new FakeEndpoint(TOM, JACK);
    await hub.join(tom1);
    assert.equal(await jack.nextFrame(), peerLoginFrame("Tom"));
    assert.equal((await hub.join(tom2)).peerOnline, true);

    await hub.leave(tom1);
    await hub.leave(tom2);
    assert.equal(await jack.nextFrame(), peerLogoutFrame("Tom"));
    assert.deepEqual(jack.frames.all, [peerLoginFrame("Tom"), peerLogoutFrame("Tom")]);
  });

  contractTest(
    "leaving while another endpoint stays on the pair tells the peer nothing",
    async (hub) => {
      const jack = new FakeEndpoint(JACK, TOM);
      await hub.join(jack);
      const tom1 = new FakeEndpoint(TOM, JACK);
      const tom2 = new FakeEndpoint(TOM, JACK);
      await hub.join(tom1);
      await hub.join(tom2);
      assert.equal(await jack.nextFrame(), peerLoginFrame("Tom"));

      await hub.leave(tom1);
      // Tom never went offline, so a new endpoint is not a login either.
      const tom3 = new FakeEndpoint(TOM, JACK);
      await hub.join(tom3);
      await hub.leave(tom2);
      await hub.leave(tom3);
      assert.equal(await jack.nextFrame(), peerLogoutFrame("Tom"));
      assert.deepEqual(jack.frames.all, [peerLoginFrame("Tom"), peerLogoutFrame("Tom")]);
    },
  );

  contractTest("leaving the last endpoint of a pair tells every peer endpoint", async (hub) => {
    const jack1 = new FakeEndpoint(JACK, TOM);
    const jack2 = new FakeEndpoint(JACK, TOM);
    const jackWithAlice = new FakeEndpoint(JACK, ALICE);
    await hub.join(jack1);
    await hub.join(jack2);
    await hub.join(jackWithAlice);
    const tom = new FakeEndpoint(TOM, JACK);
    await hub.join(tom);
    assert.equal(await jack1.nextFrame(), peerLoginFrame("Tom"));
    assert.equal(await jack2.nextFrame(), peerLoginFrame("Tom"));

    await hub.leave(tom);
    const expected = '{"status":30099,"msg":"Target user Tom logout","body":{}}';
    assert.equal(peerLogoutFrame("Tom"), expected);
    for (const jack of [jack1, jack2]) {
      const frame = await jack.nextFrame();
      assert.equal(frame, expected);
      assert.deepEqual(Object.keys(JSON.parse(frame)), ["status", "msg", "body"]);
    }

    await hub.join(new FakeEndpoint(ALICE, JACK));
    assert.equal(await jackWithAlice.nextFrame(), peerLoginFrame("Alice"));
    assert.deepEqual(jackWithAlice.frames.all, [peerLoginFrame("Alice")]);
  });

  contractTest("leaving an unknown endpoint does nothing", async (hub) => {
    const tom = new FakeEndpoint(TOM, JACK);
    const jack = new FakeEndpoint(JACK, TOM);
    await hub.join(tom);
    await hub.join(jack);
    assert.equal(hub.size, 2);

    // Same user, pair and token as a joined endpoint, but never joined itself.
    await hub.leave(new FakeEndpoint(TOM, JACK, { tokenHash: tom.tokenHash }));
    assert.equal(hub.size, 2);

    await hub.leave(tom);
    assert.equal(hub.size, 1);
    assert.equal(await jack.nextFrame(), peerLogoutFrame("Tom"));
    // Leaving twice is leaving an endpoint the hub no longer knows.
    await hub.leave(tom);
    assert.equal(hub.size, 1);

    await hub.join(new FakeEndpoint(TOM, JACK));
    assert.equal(await jack.nextFrame(), peerLoginFrame("Tom"));
    assert.deepEqual(jack.frames.all, [peerLogoutFrame("Tom"), peerLoginFrame("Tom")]);
  });

  contractTest(
    "publish delivers to every endpoint on the reverse pair and no other",
    async (hub) => {
      const jack1 = new FakeEndpoint(JACK, TOM);
      const jack2 = new FakeEndpoint(JACK, TOM);
      const jackWithAlice = new FakeEndpoint(JACK, ALICE);
      const tom = new FakeEndpoint(TOM, JACK);
      for (const endpoint of [jack1, jack2, jackWithAlice, tom]) await hub.join(endpoint);

      const hello = storedMessage(41, TOM, JACK, "Hello Jack");
      await hub.publish(hello, TOM.id, JACK.id);
      const first = await jack1.nextDelivery();
      const second = await jack2.nextDelivery();
      assert.deepEqual(first.message, hello);
      assert.deepEqual(second.message, hello);
      assert.equal(
        first.frame,
        '{"status":30001,"msg":"OK","body":{"msg":"Hello Jack","from_user":"Tom",' +
          '"send_time":"2019-01-02 11:23:41","message_id":41}}',
      );
      assert.equal(first.frame, chatMessageFrame(hello));
      assert.equal(second.frame, first.frame);
      const decoded = JSON.parse(first.frame);
      assert.deepEqual(Object.keys(decoded), ["status", "msg", "body"]);
      assert.deepEqual(Object.keys(decoded.body), ["msg", "from_user", "send_time", "message_id"]);

      // Each later message is the first its receiver gets: `hello` reached none of them.
      const fromAlice = storedMessage(42, ALICE, JACK, "Hi from Alice");
      await hub.publish(fromAlice, ALICE.id, JACK.id);
      assert.deepEqual((await jackWithAlice.nextDelivery()).message, fromAlice);
      assert.equal(jackWithAlice.deliveries.all.length, 1);

      const reply = storedMessage(43, JACK, TOM, "Hello Tom");
      await hub.publish(reply, JACK.id, TOM.id);
      assert.deepEqual((await tom.nextDelivery()).message, reply);
      assert.equal(tom.deliveries.all.length, 1);

      // And neither of those reached Jack's endpoints with Tom.
      const again = storedMessage(44, TOM, JACK, "Still there?");
      await hub.publish(again, TOM.id, JACK.id);
      for (const jack of [jack1, jack2]) {
        assert.deepEqual((await jack.nextDelivery()).message, again);
        assert.deepEqual(jack.deliveries.all.map((delivery) => delivery.message), [hello, again]);
      }
      // Messages are not presence: they come with no control frame.
      assert.deepEqual(jackWithAlice.frames.all, []);
      assert.deepEqual(tom.frames.all, []);
    },
  );

  contractTest("publish to a pair without endpoints is delivered to no one", async (hub) => {
    const tom = new FakeEndpoint(TOM, JACK);
    await hub.join(tom);
    await hub.publish(storedMessage(1, TOM, JACK, "Anyone?"), TOM.id, JACK.id);
    await hub.publish(storedMessage(2, ALICE, JACK, "Anyone?"), ALICE.id, JACK.id);
    const reply = storedMessage(3, JACK, TOM, "Here");
    await hub.publish(reply, JACK.id, TOM.id);
    assert.deepEqual((await tom.nextDelivery()).message, reply);
    assert.equal(tom.deliveries.all.length, 1);
  });

  contractTest("revokeToken terminates only the endpoints of that token", async (hub) => {
    const revoked = crypto.randomUUID();
    const tomWithJack = new FakeEndpoint(TOM, JACK, { tokenHash: revoked });
    const tomWithAlice = new FakeEndpoint(TOM, ALICE, { tokenHash: revoked });
    const tomOtherToken = new FakeEndpoint(TOM, JACK);
    const jack = new FakeEndpoint(JACK, TOM);
    for (const endpoint of [tomWithJack, tomWithAlice, tomOtherToken, jack]) {
      await hub.join(endpoint);
    }

    await hub.revokeToken(revoked);
    for (const endpoint of [tomWithJack, tomWithAlice]) {
      const termination = await endpoint.nextTermination();
      assert.equal(termination.frame, TOKEN_FAILED_FRAME);
      assert.equal(
        termination.frame,
        '{"status":30002,"msg":"Token authentication failed","body":{}}',
      );
      assert.equal(termination.code, CLOSE_CODE.POLICY_VIOLATION);
      assert.equal(termination.code, 1008);
    }
    await hub.revokeToken("a token no endpoint holds");

    // The first termination the others see is the hub closing.
    await hub.close(DISCONNECT.GOING_AWAY);
    for (const endpoint of [tomOtherToken, jack]) {
      const termination = await endpoint.nextTermination();
      assert.equal(termination.code, CLOSE_CODE.GOING_AWAY);
      assert.equal(termination.frame, null);
    }
  });

  contractTest("close terminates every endpoint with the given code", async (hub) => {
    const endpoints = [
      new FakeEndpoint(TOM, JACK),
      new FakeEndpoint(TOM, JACK),
      new FakeEndpoint(JACK, TOM),
      new FakeEndpoint(ALICE, ALICE),
      new FakeEndpoint(ALICE, TOM),
    ];
    for (const endpoint of endpoints) await hub.join(endpoint);

    await hub.close({
      kind: "going_away",
      frame: null,
      code: 4321 as CloseCode,
      reason: "Going down for a test",
    });
    for (const endpoint of endpoints) {
      assert.deepEqual(await endpoint.nextTermination(), {
        frame: null,
        code: 4321,
        reason: "Going down for a test",
      });
    }
  });

  contractTest("a note-to-self pair gets no presence and receives its messages", async (hub) => {
    const self1 = new FakeEndpoint(TOM, TOM);
    const self2 = new FakeEndpoint(TOM, TOM);
    await hub.join(self1);
    await hub.join(self2);
    assert.equal(hub.size, 2);

    const note = storedMessage(7, TOM, TOM, "Buy milk");
    await hub.publish(note, TOM.id, TOM.id);
    for (const endpoint of [self1, self2]) {
      const delivery = await endpoint.nextDelivery();
      assert.deepEqual(delivery.message, note);
      assert.equal(delivery.frame, chatMessageFrame(note));
    }

    await hub.leave(self2);
    assert.equal(hub.size, 1);
    const later = storedMessage(8, TOM, TOM, "And bread");
    await hub.publish(later, TOM.id, TOM.id);
    assert.deepEqual((await self1.nextDelivery()).message, later);
    assert.deepEqual(self1.deliveries.all.map((delivery) => delivery.message), [note, later]);
    assert.deepEqual(self2.deliveries.all.map((delivery) => delivery.message), [note]);
    assert.deepEqual(self1.frames.all, []);
    assert.deepEqual(self2.frames.all, []);
  });

  contractTest("size counts the endpoints joined and not yet left", async (hub) => {
    assert.equal(hub.size, 0);
    const endpoints = [
      new FakeEndpoint(TOM, JACK),
      new FakeEndpoint(TOM, JACK),
      new FakeEndpoint(JACK, TOM),
      new FakeEndpoint(TOM, TOM),
    ];
    for (const [index, endpoint] of endpoints.entries()) {
      await hub.join(endpoint);
      assert.equal(hub.size, index + 1);
    }
    for (const [index, endpoint] of endpoints.entries()) {
      await hub.leave(endpoint);
      assert.equal(hub.size, endpoints.length - index - 1);
    }
  });

  // The same behaviour across nodes, for hubs that can open two instances on one cluster.
  if (openCluster === undefined) return;
  const cluster = openCluster;

  function clusterTest(behaviour: string, body: (a: Hub, b: Hub) => Promise<void>): void {
    Deno.test(`${name} (two nodes): ${behaviour}`, async () => {
      const { hubs: [a, b], cleanup } = await cluster();
      try {
        await body(a, b);
      } finally {
        await cleanup();
      }
    });
  }

  clusterTest("presence spans nodes: 30098 both ways, 30099 on the last leave", async (a, b) => {
    const tom = new FakeEndpoint(TOM, JACK);
    assert.equal((await a.join(tom)).peerOnline, false);
    const jack = new FakeEndpoint(JACK, TOM);
    assert.equal((await b.join(jack)).peerOnline, true);
    assert.equal(await tom.nextFrame(), peerLoginFrame("Jack"));

    // A second socket of Jack, on the other node: nothing new for Tom.
    const jackOnA = new FakeEndpoint(JACK, TOM);
    assert.equal((await a.join(jackOnA)).peerOnline, true);
    await b.leave(jack);
    // Still online through node A; the next frame Tom gets is the logout of the last one.
    await a.leave(jackOnA);
    assert.equal(await tom.nextFrame(), peerLogoutFrame("Jack"));
    assert.deepEqual(tom.frames.all, [peerLoginFrame("Jack"), peerLogoutFrame("Jack")]);
    assert.deepEqual(jack.frames.all, []);
  });

  clusterTest("every peer endpoint on every node hears a first join, once", async (a, b) => {
    const jackOnA = new FakeEndpoint(JACK, TOM);
    const jackOnB = new FakeEndpoint(JACK, TOM);
    await a.join(jackOnA);
    await b.join(jackOnB);
    const tom1 = new FakeEndpoint(TOM, JACK);
    const tom2 = new FakeEndpoint(TOM, JACK);
    await b.join(tom1);
    await a.join(tom2);
    for (const jack of [jackOnA, jackOnB]) {
      assert.equal(await jack.nextFrame(), peerLoginFrame("Tom"));
    }
    await a.leave(tom2);
    await b.leave(tom1);
    for (const jack of [jackOnA, jackOnB]) {
      assert.equal(await jack.nextFrame(), peerLogoutFrame("Tom"));
      assert.deepEqual(jack.frames.all, [peerLoginFrame("Tom"), peerLogoutFrame("Tom")]);
    }
  });

  clusterTest(
    "a message published on one node reaches the peer on every node, in order",
    async (a, b) => {
      const jackOnA = new FakeEndpoint(JACK, TOM);
      const jackOnB = new FakeEndpoint(JACK, TOM);
      const tom = new FakeEndpoint(TOM, JACK);
      await a.join(jackOnA);
      await b.join(jackOnB);
      await a.join(tom);
      const sent = Array.from({ length: 50 }, (_, i) => storedMessage(i + 1, TOM, JACK, `m${i}`));
      for (const message of sent) await a.publish(message, TOM.id, JACK.id);
      for (const jack of [jackOnA, jackOnB]) {
        for (const message of sent) {
          const delivery = await jack.nextDelivery();
          assert.deepEqual(delivery.message, message);
          assert.equal(delivery.frame, chatMessageFrame(message));
        }
      }
      // Not echoed to the sender's own pair, and not twice: the reply is Tom's first delivery.
      const reply = storedMessage(99, JACK, TOM, "reply");
      await b.publish(reply, JACK.id, TOM.id);
      assert.deepEqual((await tom.nextDelivery()).message, reply);
      assert.equal(tom.deliveries.all.length, 1);
      const marker = storedMessage(100, TOM, JACK, "marker");
      await a.publish(marker, TOM.id, JACK.id);
      assert.deepEqual((await jackOnB.nextDelivery()).message, marker);
      assert.equal(jackOnB.deliveries.all.length, sent.length + 1);
    },
  );

  clusterTest(
    "revokeToken on one node terminates that token's endpoints on every node",
    async (a, b) => {
      const revoked = crypto.randomUUID();
      const onA = new FakeEndpoint(TOM, JACK, { tokenHash: revoked });
      const onB = new FakeEndpoint(TOM, ALICE, { tokenHash: revoked });
      const kept = new FakeEndpoint(TOM, JACK);
      await a.join(onA);
      await b.join(onB);
      await b.join(kept);
      await a.revokeToken(revoked);
      for (const endpoint of [onA, onB]) {
        const termination = await endpoint.nextTermination();
        assert.equal(termination.frame, TOKEN_FAILED_FRAME);
        assert.equal(termination.code, CLOSE_CODE.POLICY_VIOLATION);
      }
      await b.close(DISCONNECT.GOING_AWAY);
      assert.equal((await kept.nextTermination()).code, CLOSE_CODE.GOING_AWAY);
    },
  );

  clusterTest("a node that closes tells the peers on other nodes its users left", async (a, b) => {
    const tom = new FakeEndpoint(TOM, JACK);
    const jack = new FakeEndpoint(JACK, TOM);
    await a.join(tom);
    await b.join(jack);
    assert.equal(await tom.nextFrame(), peerLoginFrame("Jack"));
    await b.close(DISCONNECT.GOING_AWAY);
    assert.equal((await jack.nextTermination()).code, CLOSE_CODE.GOING_AWAY);
    assert.equal(await tom.nextFrame(), peerLogoutFrame("Jack"));
    // And Jack is offline for a newcomer too.
    assert.equal((await a.join(new FakeEndpoint(ALICE, JACK))).peerOnline, false);
    const tom2 = new FakeEndpoint(TOM, JACK);
    assert.equal((await a.join(tom2)).peerOnline, false);
  });

  clusterTest("a note-to-self pair spans nodes without presence frames", async (a, b) => {
    const selfA = new FakeEndpoint(TOM, TOM);
    const selfB = new FakeEndpoint(TOM, TOM);
    await a.join(selfA);
    assert.equal((await b.join(selfB)).peerOnline, false);
    const note = storedMessage(5, TOM, TOM, "note");
    await a.publish(note, TOM.id, TOM.id);
    for (const endpoint of [selfA, selfB]) {
      assert.deepEqual((await endpoint.nextDelivery()).message, note);
    }
    await b.leave(selfB);
    await a.leave(selfA);
    assert.deepEqual(selfA.frames.all, []);
    assert.deepEqual(selfB.frames.all, []);
  });
}
