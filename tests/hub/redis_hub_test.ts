import assert from "node:assert/strict";
import { createClient } from "npm:@redis/client@1.6.1";
import { RedisHub } from "../../lib/hub/redis_hub.ts";
import type { UserPresenceListener } from "../../lib/hub/hub.ts";
import * as scripts from "../../lib/hub/redis_scripts.ts";
import { encodeEvent, HUB_EVENT } from "../../lib/hub/redis_events.ts";
import { silentLogger } from "../../lib/log.ts";
import { peerLoginFrame, peerLogoutFrame } from "../../lib/protocol/server_frame.ts";
import { CLOSE_CODE } from "../../lib/protocol/status.ts";
import { DISCONNECT } from "../../lib/protocol/disconnect.ts";
import type { UserRef } from "../../lib/storage/repository.ts";
import { FakeEndpoint } from "../support/fake_endpoint.ts";
import { redisHubOptions } from "../support/backend_options.ts";
import {
  dropRedisPrefix,
  freePort,
  servicesReachable,
  TEST_REDIS_URL,
  testRedisPrefix,
} from "../support/services.ts";
import { hubContract } from "./hub_contract.ts";

const reachable = await servicesReachable(["redis"], "the Redis hub tests");

const TOM: UserRef = { id: 1, username: "Tom" };
const JACK: UserRef = { id: 2, username: "Jack" };

function openHub(
  prefix: string,
  presenceTtlMs = 5000,
  onUserPresence?: UserPresenceListener,
): Promise<RedisHub> {
  return RedisHub.open({
    ...redisHubOptions(TEST_REDIS_URL, prefix, silentLogger),
    presenceTtlMs,
    onUserPresence,
  });
}

async function closeAll(hubs: RedisHub[], prefix: string): Promise<void> {
  await Promise.all(hubs.map((hub) => hub.close(DISCONNECT.GOING_AWAY)));
  await dropRedisPrefix(prefix);
}

if (reachable) {
  hubContract(
    "RedisHub",
    async (onUserPresence) => {
      const prefix = testRedisPrefix();
      const hub = await openHub(prefix, 5000, onUserPresence);
      return { hub, cleanup: () => closeAll([hub], prefix) };
    },
    async (onUserPresence) => {
      const prefix = testRedisPrefix();
      const a = await openHub(prefix, 5000, onUserPresence);
      const b = await openHub(prefix, 5000, onUserPresence);
      return { hubs: [a, b], cleanup: () => closeAll([a, b], prefix) };
    },
  );
}

function redisTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `RedisHub: ${name}`, ignore: !reachable, fn });
}

/** A raw Redis connection for arranging what a test needs. */
async function rawClient() {
  const client = createClient({ url: TEST_REDIS_URL });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Runs one of the hub's scripts as node `node` would. */
function runScript(
  client: Awaited<ReturnType<typeof rawClient>>,
  script: string,
  args: string[],
): Promise<unknown> {
  return client.sendCommand(["EVAL", script, "0", ...args]);
}

redisTest("a node whose heartbeat stops is reaped and its users' peers get 30099", async () => {
  const prefix = testRedisPrefix();
  const hub = await openHub(prefix, 1000);
  const raw = await rawClient();
  try {
    // A node that registers, joins Tom to (Tom -> Jack), then dies without a goodbye.
    await runScript(raw, scripts.REGISTER, [prefix, "ghost", "1000"]);
    await runScript(raw, scripts.JOIN, [prefix, "ghost", String(TOM.id), String(JACK.id)]);
    const jack = new FakeEndpoint(JACK, TOM);
    assert.equal((await hub.join(jack)).peerOnline, true);
    const started = Date.now();
    // Within TTL + TTL / 3 of the last heartbeat, plus a margin for the test machine.
    assert.equal(await jack.nextFrame(2500), peerLogoutFrame("Tom"));
    assert.ok(Date.now() - started >= 500, "not before the heartbeat could have expired");
    assert.equal(await raw.sIsMember(`${prefix}nodes`, "ghost"), false);
    assert.equal(await raw.exists(`${prefix}pair:${TOM.id}:${JACK.id}`), 0);
    // Tom joining again is a login once more.
    const tom = new FakeEndpoint(TOM, JACK);
    assert.equal((await hub.join(tom)).peerOnline, true);
    assert.equal(await jack.nextFrame(), peerLoginFrame("Tom"));
  } finally {
    await raw.quit();
    await closeAll([hub], prefix);
  }
});

redisTest(
  "a reaped node's pairs: the peers' endpoints catch up from storage, then get 30099",
  async () => {
    const prefix = testRedisPrefix();
    const hub = await openHub(prefix, 1000);
    const raw = await rawClient();
    try {
      // A node holds Tom on (Tom -> Jack) and on (Tom -> Alice), then dies without a goodbye.
      const alice: UserRef = { id: 3, username: "Alice" };
      await runScript(raw, scripts.REGISTER, [prefix, "ghost", "1000"]);
      for (const peer of [JACK, alice]) {
        await runScript(raw, scripts.JOIN, [prefix, "ghost", String(TOM.id), String(peer.id)]);
      }
      // Tom is also on (Tom -> Alice) here, so Alice's peer stays online there.
      await hub.join(new FakeEndpoint(TOM, alice));
      const jack = new FakeEndpoint(JACK, TOM);
      const withAlice = new FakeEndpoint(alice, TOM);
      await hub.join(jack);
      await hub.join(withAlice);
      // Jack: catch-up first (no frame before it), then the 30099; Alice: catch-up, no 30099.
      assert.equal(await jack.catchUps.next(2500), 0);
      assert.equal(await jack.nextFrame(), peerLogoutFrame("Tom"));
      assert.equal(await withAlice.catchUps.next(), 0);
      assert.deepEqual(withAlice.frames.all, []);
      assert.deepEqual(jack.catchUps.all, [0]);
    } finally {
      await raw.quit();
      await closeAll([hub], prefix);
    }
  },
);

redisTest(
  "a node's own goodbye asks for no catch-up; reaping itself after an outage does",
  async () => {
    const prefix = testRedisPrefix();
    const hub = await openHub(prefix);
    const raw = await rawClient();
    try {
      const jack = new FakeEndpoint(JACK, TOM);
      await hub.join(jack);
      for (const [node, catchUp] of [["stopped", "0"], ["cut_off", "1"]]) {
        await runScript(raw, scripts.REGISTER, [prefix, node, "60000"]);
        await runScript(raw, scripts.JOIN, [prefix, node, String(TOM.id), String(JACK.id)]);
        assert.equal(await jack.nextFrame(), peerLoginFrame("Tom"));
        await runScript(raw, scripts.REAP_SELF, [prefix, node, catchUp]);
        assert.equal(await jack.nextFrame(), peerLogoutFrame("Tom"));
      }
      // Only the second asked, before its 30099 (after the three frames of before).
      assert.deepEqual(jack.catchUps.all, [3]);
    } finally {
      await raw.quit();
      await closeAll([hub], prefix);
    }
  },
);

redisTest("a presence event older than an endpoint's join is ignored", async () => {
  const prefix = testRedisPrefix();
  const hub = await openHub(prefix);
  const raw = await rawClient();
  try {
    const jack = new FakeEndpoint(JACK, TOM);
    await hub.join(jack);
    // An event from before the join (sequence 0), delivered late: stale, not shown.
    await raw.publish(
      `${prefix}ch:${hub.nodeId}`,
      encodeEvent({
        kind: HUB_EVENT.PRESENCE,
        origin: "elsewhere",
        seq: 0,
        user: TOM.id,
        peer: JACK.id,
        online: true,
      }),
    );
    // The next real event is the first frame Jack gets.
    const tom = new FakeEndpoint(TOM, JACK);
    await hub.join(tom);
    assert.equal(await jack.nextFrame(), peerLoginFrame("Tom"));
    assert.deepEqual(jack.frames.all, [peerLoginFrame("Tom")]);
  } finally {
    await raw.quit();
    await closeAll([hub], prefix);
  }
});

redisTest("a node taken for dead drops its sockets with 1013 and registers again", async () => {
  const prefix = testRedisPrefix();
  const hub = await openHub(prefix, 1000);
  const raw = await rawClient();
  try {
    const tom = new FakeEndpoint(TOM, JACK);
    await hub.join(tom);
    // Another node reaped it (as after a long pause): its next heartbeat finds out.
    await runScript(raw, scripts.REAP_SELF, [prefix, hub.nodeId]);
    assert.equal((await tom.nextTermination(2000)).code, CLOSE_CODE.TRY_AGAIN_LATER);
    // Registered again: new sockets join.
    const deadline = Date.now() + 2000;
    for (;;) {
      try {
        await hub.join(new FakeEndpoint(TOM, JACK));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.equal(await raw.sIsMember(`${prefix}nodes`, hub.nodeId), true);
  } finally {
    await raw.quit();
    await closeAll([hub], prefix);
  }
});

redisTest("ping answers while connected", async () => {
  const prefix = testRedisPrefix();
  const hub = await openHub(prefix);
  try {
    await hub.ping();
  } finally {
    await closeAll([hub], prefix);
  }
  await assert.rejects(hub.ping());
});

redisTest("an unreachable Redis fails open", async () => {
  await assert.rejects(
    RedisHub.open(
      redisHubOptions(`redis://127.0.0.1:${freePort()}`, testRedisPrefix(), silentLogger),
    ),
  );
});

redisTest(
  "mayHaveV2OnPair is exact while only this node holds the pair, and true once another node holds any endpoint of the user on it",
  async () => {
    const prefix = testRedisPrefix();
    const a = await openHub(prefix);
    const b = await openHub(prefix);
    try {
      assert.equal(await a.mayHaveV2OnPair(TOM.id, JACK.id), false);
      await a.join(new FakeEndpoint(TOM, JACK));
      // Only this node holds the pair: its own endpoints are the whole answer.
      assert.equal(await a.mayHaveV2OnPair(TOM.id, JACK.id), false);
      // A seed endpoint on the other node: whether it is v2 the registry does not say.
      const seedOnB = new FakeEndpoint(TOM, JACK);
      await b.join(seedOnB);
      assert.equal(await a.mayHaveV2OnPair(TOM.id, JACK.id), true);
      assert.equal(await b.mayHaveV2OnPair(TOM.id, JACK.id), true);
      await b.leave(seedOnB);
      assert.equal(await a.mayHaveV2OnPair(TOM.id, JACK.id), false);
      assert.equal(await b.mayHaveV2OnPair(TOM.id, JACK.id), true);
      // A local v2 endpoint answers at once, without asking Redis.
      await a.join(new FakeEndpoint(TOM, JACK, { v2: true }));
      assert.equal(a.mayHaveV2OnPair(TOM.id, JACK.id), true);
      // Closed, a node's pushes reach nobody.
      await a.close(DISCONNECT.GOING_AWAY);
      assert.equal(a.mayHaveV2OnPair(TOM.id, JACK.id), false);
    } finally {
      await closeAll([a, b], prefix);
    }
  },
);
