/**
 * The link of one node to Redis, without a hub: what it hears, its registration and heartbeat,
 * and its recovery. The tests that stop Redis or make it forget run a redis-server of their own.
 */
import assert from "node:assert/strict";
import { createClient } from "npm:@redis/client@1.6.1";
import { type LinkListener, RedisLink } from "../../lib/hub/redis_link.ts";
import { encodeEvent, type EndpointEvent, HUB_EVENT } from "../../lib/hub/redis_events.ts";
import { createLogger, type Logger, silentLogger } from "../../lib/log.ts";
import { EventLog } from "../support/fake_endpoint.ts";
import { redisHubOptions } from "../support/backend_options.ts";
import { PrivateRedis, redisServerInstalled } from "../support/private_redis.ts";
import {
  dropRedisPrefix,
  freePort,
  SERVICES_REQUIRED,
  servicesReachable,
  TEST_REDIS_URL,
  testRedisPrefix,
} from "../support/services.ts";
import { waitFor } from "../support/wait.ts";

const reachable = await servicesReachable(["redis"], "the Redis link tests");
const installed = await redisServerInstalled();
if (!installed && !SERVICES_REQUIRED) {
  console.warn("note: skipping the Redis link outage tests: redis-server is not installed");
}

/** A listener that records what the link tells it. */
class RecordingListener implements LinkListener {
  readonly events = new EventLog<EndpointEvent>("an event heard by the link");
  readonly losses = new EventLog<string>("the link losing the node's presence");
  heard(event: EndpointEvent): void {
    this.events.push(event);
  }
  lost(reason: string): void {
    this.losses.push(reason);
  }
  readonly offline = new EventLog<number>("a user reaped offline");
  usersOffline(userIds: readonly number[]): void {
    for (const id of userIds) this.offline.push(id);
  }
}

/** A started link on `url` under `prefix`, its listener and its log lines. */
async function startLink(url: string, prefix: string, presenceTtlMs = 5000) {
  const lines = new EventLog<string>("a log line");
  const log: Logger = createLogger((line) => lines.push(line));
  const listener = new RecordingListener();
  const link = new RedisLink({ ...redisHubOptions(url, prefix, log), presenceTtlMs });
  await link.start(listener);
  return { link, listener, lines };
}

/** The next log line matching `pattern`. */
async function nextLine(lines: EventLog<string>, pattern: RegExp, timeoutMs = 5000) {
  for (;;) {
    const line = await lines.next(timeoutMs);
    if (pattern.test(line)) return line;
  }
}

/** A plain Redis connection, for arranging and checking what a test needs. */
async function rawClient(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  return client;
}

function linkTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `RedisLink: ${name}`, ignore: !reachable, fn });
}

function privateRedisTest(name: string, fn: (redis: PrivateRedis) => Promise<void>): void {
  Deno.test({
    name: `RedisLink: ${name}`,
    ignore: !installed && !SERVICES_REQUIRED,
    async fn() {
      await using redis = new PrivateRedis(freePort());
      await redis.start();
      await fn(redis);
    },
  });
}

linkTest("start registers the node with a heartbeat; close says goodbye", async () => {
  const prefix = testRedisPrefix();
  const raw = await rawClient(TEST_REDIS_URL);
  try {
    const { link } = await startLink(TEST_REDIS_URL, prefix, 5000);
    assert.equal(link.state, "ready");
    assert.equal(await raw.sIsMember(`${prefix}nodes`, link.nodeId), true);
    const ttl = await raw.pTTL(`${prefix}node:${link.nodeId}`);
    assert.ok(ttl > 0 && ttl <= 5000, `heartbeat expires in ${ttl} ms`);
    await link.close();
    assert.equal(link.state, "closed");
    assert.equal(await raw.sIsMember(`${prefix}nodes`, link.nodeId), false);
    assert.equal(await raw.exists(`${prefix}node:${link.nodeId}`), 0);
  } finally {
    await raw.quit();
    await dropRedisPrefix(prefix);
  }
});

linkTest("events of other nodes reach the listener, echoes and probes do not", async () => {
  const prefix = testRedisPrefix();
  const raw = await rawClient(TEST_REDIS_URL);
  const a = await startLink(TEST_REDIS_URL, prefix);
  const b = await startLink(TEST_REDIS_URL, prefix);
  try {
    const channel = `${prefix}ch:${a.link.nodeId}`;
    const presence = (origin: string) =>
      encodeEvent({ kind: HUB_EVENT.PRESENCE, origin, seq: 1, user: 1, peer: 2, online: true });
    // Published in this order: only the last reaches the listener, and first.
    await raw.publish(channel, presence(a.link.nodeId));
    await raw.publish(
      channel,
      encodeEvent({ kind: HUB_EVENT.PROBE, origin: "elsewhere", nonce: "unknown" }),
    );
    await raw.publish(channel, presence("elsewhere"));
    assert.deepEqual(await a.listener.events.next(), {
      kind: HUB_EVENT.PRESENCE,
      origin: "elsewhere",
      seq: 1,
      user: 1,
      peer: 2,
      online: true,
    });
    // A revocation reaches every other node, not the one that sent it. One channel delivers in
    // the order published, so an echo would arrive before the next event from elsewhere.
    const revoke = (from: RedisLink, tokenHash: string) =>
      from.publishToEveryNode({ kind: HUB_EVENT.REVOKE, origin: from.nodeId, tokenHash });
    const nextRevoked = async (listener: RecordingListener) =>
      (await listener.events.next() as { tokenHash: string }).tokenHash;
    await revoke(b.link, "from-b");
    assert.equal(await nextRevoked(a.listener), "from-b");
    await revoke(a.link, "from-a");
    assert.equal(await nextRevoked(b.listener), "from-a");
    await revoke(b.link, "from-b again");
    assert.equal(await nextRevoked(a.listener), "from-b again");
    await revoke(a.link, "from-a again");
    assert.equal(await nextRevoked(b.listener), "from-a again");
  } finally {
    await Promise.all([a.link.close(), b.link.close()]);
    await raw.quit();
    await dropRedisPrefix(prefix);
  }
});

linkTest("an event that is not understood is logged and dropped", async () => {
  const prefix = testRedisPrefix();
  const raw = await rawClient(TEST_REDIS_URL);
  const { link, listener, lines } = await startLink(TEST_REDIS_URL, prefix);
  try {
    const channel = `${prefix}ch:${link.nodeId}`;
    await raw.publish(channel, "not json");
    await nextLine(lines, / warn hub\.bad_event /);
    await raw.publish(
      channel,
      encodeEvent({ kind: HUB_EVENT.REVOKE, origin: "elsewhere", tokenHash: "t" }),
    );
    assert.equal((await listener.events.next()).kind, HUB_EVENT.REVOKE);
    assert.equal(listener.events.all.length, 1);
  } finally {
    await link.close();
    await raw.quit();
    await dropRedisPrefix(prefix);
  }
});

linkTest("a node taken for dead tells the listener and registers again", async () => {
  const prefix = testRedisPrefix();
  const raw = await rawClient(TEST_REDIS_URL);
  const { link, listener } = await startLink(TEST_REDIS_URL, prefix, 1000);
  try {
    // Another node reaped this one, as after a long pause: its next heartbeat finds out.
    await raw.sendCommand(["SREM", `${prefix}nodes`, link.nodeId]);
    assert.equal(await listener.losses.next(), "node was taken for dead");
    await waitFor(() => link.state === "ready", "the link to register again");
    assert.equal(await raw.sIsMember(`${prefix}nodes`, link.nodeId), true);
  } finally {
    await link.close();
    await raw.quit();
    await dropRedisPrefix(prefix);
  }
});

privateRedisTest("a script Redis forgot is loaded again and runs", async (redis) => {
  const raw = await rawClient(redis.url);
  const { link } = await startLink(redis.url, testRedisPrefix());
  try {
    await raw.scriptFlush();
    assert.equal(await link.script("HEARTBEAT", ["5000"]), 1);
    assert.equal(await link.script("HEARTBEAT", ["5000"]), 1);
  } finally {
    await link.close();
    await raw.quit();
  }
});

privateRedisTest(
  "when Redis restarts the listener hears of it and the link registers again",
  async (redis) => {
    const prefix = testRedisPrefix();
    const { link, listener, lines } = await startLink(redis.url, prefix, 3000);
    try {
      await redis.kill();
      assert.equal(await listener.losses.next(), "redis unreachable");
      assert.notEqual(link.state, "ready");
      await nextLine(lines, / error hub\.redis_down /);
      // A new server knows neither this node nor the scripts.
      await redis.start();
      await nextLine(lines, / info hub\.redis_back /, 10_000);
      assert.equal(link.state, "ready");
      const raw = await rawClient(redis.url);
      try {
        assert.equal(await raw.sIsMember(`${prefix}nodes`, link.nodeId), true);
      } finally {
        await raw.quit();
      }
    } finally {
      await link.close();
    }
  },
);

privateRedisTest(
  "a Redis that stops answering counts as down until it answers again",
  async (redis) => {
    // Commands time out after a beat: a third of the TTL, at least 1 s.
    const { link, listener, lines } = await startLink(redis.url, testRedisPrefix(), 3000);
    try {
      redis.pause();
      assert.equal(await listener.losses.next(5000), "redis unreachable");
      const down = await nextLine(lines, / error hub\.redis_down /);
      assert.match(down, /did not answer/);
      redis.resume();
      await nextLine(lines, / info hub\.redis_back /, 10_000);
      assert.equal(link.state, "ready");
      assert.equal(listener.losses.all.length, 1);
    } finally {
      redis.resume();
      await link.close();
    }
  },
);

Deno.test({
  name: "RedisLink: an unreachable Redis fails start",
  ignore: !reachable,
  async fn() {
    const link = new RedisLink(
      redisHubOptions(`redis://127.0.0.1:${freePort()}`, testRedisPrefix(), silentLogger),
    );
    await assert.rejects(link.start(new RecordingListener()));
  },
});
