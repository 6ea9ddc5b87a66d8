/**
 * The part of the hub conformance suite for what plugs the service into an app (issue 13):
 * whether a user is on a pair or online anywhere (the `message.waiting` decision and the admin
 * API), erasure closing the user's and their peers' endpoints, and user presence events.
 */
import assert from "node:assert/strict";
import type { Hub, UserPresenceListener } from "../../lib/hub/hub.ts";
import { targetNotFoundFrame, TOKEN_FAILED_FRAME } from "../../lib/protocol/server_frame.ts";
import { CLOSE_CODE } from "../../lib/protocol/status.ts";
import { EventLog, FakeEndpoint } from "../support/fake_endpoint.ts";
import { ALICE, JACK, type OpenCluster, type OpenHub, TOM } from "./hub_contract_support.ts";

/** A presence listener recording `"<id> online"` / `"<id> offline"`. */
function presenceLog() {
  const log = new EventLog<string>("a user presence change");
  const listener: UserPresenceListener = (id, online) =>
    log.push(`${id} ${online ? "online" : "offline"}`);
  return { log, listener };
}

/** Registers the tests for one hub implementation. */
export function hubAppContract(name: string, open: OpenHub, openCluster?: OpenCluster): void {
  function contractTest(
    behaviour: string,
    body: (hub: Hub, presence: EventLog<string>) => Promise<void>,
  ): void {
    Deno.test(`${name}: ${behaviour}`, async () => {
      const { log, listener } = presenceLog();
      const { hub, cleanup } = await open(listener);
      try {
        await body(hub, log);
      } finally {
        await cleanup();
      }
    });
  }

  contractTest("isOnPair and isOnline follow joins and leaves", async (hub) => {
    assert.equal(await hub.isOnPair(TOM.id, JACK.id), false);
    assert.equal(await hub.isOnline(TOM.id), false);
    const tom = new FakeEndpoint(TOM, JACK);
    await hub.join(tom);
    assert.equal(await hub.isOnPair(TOM.id, JACK.id), true);
    assert.equal(await hub.isOnPair(JACK.id, TOM.id), false);
    assert.equal(await hub.isOnPair(TOM.id, ALICE.id), false);
    assert.equal(await hub.isOnline(TOM.id), true);
    assert.equal(await hub.isOnline(JACK.id), false);
    await hub.leave(tom);
    assert.equal(await hub.isOnPair(TOM.id, JACK.id), false);
    assert.equal(await hub.isOnline(TOM.id), false);
  });

  contractTest(
    "disconnectUser: the user's endpoints get 30002, their peers' 30003",
    async (hub) => {
      const tom = new FakeEndpoint(TOM, JACK);
      const tomSelf = new FakeEndpoint(TOM, TOM);
      const jack = new FakeEndpoint(JACK, TOM);
      const jackWithAlice = new FakeEndpoint(JACK, ALICE);
      for (const endpoint of [tom, tomSelf, jack, jackWithAlice]) await hub.join(endpoint);
      await hub.disconnectUser(TOM.id);
      for (const endpoint of [tom, tomSelf]) {
        const ended = await endpoint.nextTermination();
        assert.equal(ended.frame, TOKEN_FAILED_FRAME);
        assert.equal(ended.code, CLOSE_CODE.POLICY_VIOLATION);
      }
      const ended = await jack.nextTermination();
      assert.equal(ended.frame, targetNotFoundFrame("Tom"));
      assert.equal(ended.code, CLOSE_CODE.POLICY_VIOLATION);
      // Jack's chat with Alice is not Tom's business; a later event shows nothing came before.
      await hub.disconnectUser(ALICE.id);
      assert.equal((await jackWithAlice.nextTermination()).frame, targetNotFoundFrame("Alice"));
    },
  );

  contractTest(
    "a user's first endpoint anywhere and last one are heard once each",
    async (hub, presence) => {
      const tom = new FakeEndpoint(TOM, JACK);
      const tomWithAlice = new FakeEndpoint(TOM, ALICE);
      await hub.join(tom);
      assert.equal(await presence.next(), "1 online");
      await hub.join(tomWithAlice);
      await hub.join(new FakeEndpoint(JACK, TOM));
      assert.equal(await presence.next(), "2 online", "Tom's second endpoint changed nothing");
      await hub.leave(tom);
      await hub.leave(tomWithAlice);
      assert.equal(await presence.next(), "1 offline");
    },
  );

  if (openCluster === undefined) return;
  const cluster = openCluster;

  function clusterTest(
    behaviour: string,
    body: (a: Hub, b: Hub, presence: EventLog<string>) => Promise<void>,
  ): void {
    Deno.test(`${name} across two nodes: ${behaviour}`, async () => {
      const { log, listener } = presenceLog();
      const { hubs, cleanup } = await cluster(listener);
      try {
        await body(hubs[0], hubs[1], log);
      } finally {
        await cleanup();
      }
    });
  }

  clusterTest("isOnPair and isOnline see endpoints on the other node", async (a, b) => {
    const tom = new FakeEndpoint(TOM, JACK);
    await a.join(tom);
    assert.equal(await b.isOnPair(TOM.id, JACK.id), true);
    assert.equal(await b.isOnline(TOM.id), true);
    await a.leave(tom);
    assert.equal(await b.isOnPair(TOM.id, JACK.id), false);
    assert.equal(await b.isOnline(TOM.id), false);
  });

  clusterTest("disconnectUser on one node closes endpoints on the other", async (a, b) => {
    const tom = new FakeEndpoint(TOM, JACK);
    const jack = new FakeEndpoint(JACK, TOM);
    await b.join(tom);
    await b.join(jack);
    await a.disconnectUser(TOM.id);
    assert.equal((await tom.nextTermination()).frame, TOKEN_FAILED_FRAME);
    assert.equal((await jack.nextTermination()).frame, targetNotFoundFrame("Tom"));
  });

  clusterTest(
    "user presence is counted across nodes, and a closing node reports its users",
    async (a, b, presence) => {
      const onA = new FakeEndpoint(TOM, JACK);
      const onB = new FakeEndpoint(TOM, ALICE);
      await a.join(onA);
      assert.equal(await presence.next(), "1 online");
      await b.join(onB);
      await a.leave(onA);
      await b.join(new FakeEndpoint(JACK, TOM));
      assert.equal(await presence.next(), "2 online", "no second online, no offline for Tom");
      await b.close({ kind: "going_away", frame: null, code: 1001, reason: "bye" });
      const left = [await presence.next(), await presence.next()].sort();
      assert.deepEqual(left, ["1 offline", "2 offline"]);
    },
  );
}
