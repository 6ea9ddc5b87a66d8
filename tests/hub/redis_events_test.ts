import assert from "node:assert/strict";
import { createClient } from "npm:@redis/client@1.6.1";
import {
  type CatchUpEvent,
  decodeEvent,
  encodeEvent,
  HUB_EVENT,
  type HubEvent,
  type PresenceEvent,
} from "../../lib/hub/redis_events.ts";
import * as scripts from "../../lib/hub/redis_scripts.ts";
import { EventLog } from "../support/fake_endpoint.ts";
import {
  dropRedisPrefix,
  servicesReachable,
  TEST_REDIS_URL,
  testRedisPrefix,
} from "../support/services.ts";

const reachable = await servicesReachable(["redis"], "the Redis event tests");

const TOM = 1;
const JACK = 2;

Deno.test("Redis events: every kind survives encoding and decoding", () => {
  const events: HubEvent[] = [
    { kind: HUB_EVENT.PRESENCE, origin: "a1", seq: 7, user: TOM, peer: JACK, online: true },
    {
      kind: HUB_EVENT.MESSAGE,
      origin: "a1",
      from: TOM,
      to: JACK,
      message: {
        messageId: 9,
        fromUser: "Tom",
        toUser: "Jack",
        msg: "你好 😀",
        sendTime: "2024-05-01 12:00:00",
      },
    },
    { kind: HUB_EVENT.REVOKE, origin: "a1", tokenHash: "ab12" },
    { kind: HUB_EVENT.ERASE, origin: "a1", user: TOM },
    { kind: HUB_EVENT.CATCH_UP, origin: "a1", from: TOM, to: JACK },
    { kind: HUB_EVENT.PROBE, origin: "a1", nonce: "n1" },
    { kind: HUB_EVENT.PUSH, origin: "a1", user: TOM, peer: JACK, frame: '{"status":30014}' },
  ];
  for (const event of events) assert.deepEqual(decodeEvent(encodeEvent(event)), event);
  assert.deepEqual(Object.values(HUB_EVENT), [
    "presence",
    "message",
    "revoke",
    "erase",
    "catch_up",
    "push",
    "probe",
  ]);
});

Deno.test("Redis events: what is not JSON, names no known kind or no origin is refused", () => {
  for (
    const raw of [
      "not json",
      "null",
      "42",
      '"presence"',
      '{"origin":"a1"}',
      '{"kind":"presence"}',
      '{"kind":"unknown","origin":"a1"}',
      // The one-letter shape of earlier versions.
      '{"o":"a1","k":"p","s":1,"u":1,"p":2,"on":1}',
    ]
  ) {
    assert.equal(decodeEvent(raw), null, raw);
  }
});

function redisTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `Redis events: ${name}`, ignore: !reachable, fn });
}

redisTest("the presence events the scripts publish decode as PresenceEvent", async () => {
  const prefix = testRedisPrefix();
  const client = createClient({ url: TEST_REDIS_URL });
  const subscriber = client.duplicate();
  for (const each of [client, subscriber]) each.on("error", () => {});
  const heard = new EventLog<string>("an event on node b's channel");
  try {
    await client.connect();
    await subscriber.connect();
    await subscriber.subscribe(`${prefix}ch:b`, (raw: string) => heard.push(raw));
    const run = (script: string, args: string[]) =>
      client.sendCommand(["EVAL", script, "0", prefix, ...args]) as Promise<number[]>;
    await run(scripts.REGISTER, ["a", "60000"]);
    await run(scripts.REGISTER, ["b", "60000"]);
    // Jack is on node b; Tom joins on node a, then leaves: node b hears both.
    await run(scripts.JOIN, ["b", String(JACK), String(TOM)]);
    const [joinSeq] = await run(scripts.JOIN, ["a", String(TOM), String(JACK)]);
    const [leaveSeq] = await run(scripts.LEAVE, ["a", String(TOM), String(JACK)]);
    const expected: PresenceEvent[] = [
      { kind: HUB_EVENT.PRESENCE, origin: "a", seq: joinSeq, user: TOM, peer: JACK, online: true },
      {
        kind: HUB_EVENT.PRESENCE,
        origin: "a",
        seq: leaveSeq,
        user: TOM,
        peer: JACK,
        online: false,
      },
    ];
    assert.deepEqual(decodeEvent(await heard.next()), expected[0]);
    assert.deepEqual(decodeEvent(await heard.next()), expected[1]);
  } finally {
    if (subscriber.isOpen) await subscriber.quit();
    if (client.isOpen) await client.quit();
    await dropRedisPrefix(prefix);
  }
});

redisTest("the catch-up events a reap publishes decode as CatchUpEvent", async () => {
  const prefix = testRedisPrefix();
  const client = createClient({ url: TEST_REDIS_URL });
  const subscriber = client.duplicate();
  for (const each of [client, subscriber]) each.on("error", () => {});
  const heard = new EventLog<string>("an event on node b's channel");
  try {
    await client.connect();
    await subscriber.connect();
    await subscriber.subscribe(`${prefix}ch:b`, (raw: string) => heard.push(raw));
    const run = (script: string, args: string[]) =>
      client.sendCommand(["EVAL", script, "0", prefix, ...args]) as Promise<unknown>;
    await run(scripts.REGISTER, ["a", "60000"]);
    await run(scripts.REGISTER, ["b", "60000"]);
    // Jack is on node b; Tom on node a, which node b then reaps (its heartbeat gone).
    await run(scripts.JOIN, ["b", String(JACK), String(TOM)]);
    await run(scripts.JOIN, ["a", String(TOM), String(JACK)]);
    await heard.next(); // Tom's login.
    await client.del(`${prefix}node:a`);
    await run(scripts.REAP_EXPIRED, ["b"]);
    const expected: CatchUpEvent = { kind: HUB_EVENT.CATCH_UP, origin: "a", from: TOM, to: JACK };
    assert.deepEqual(decodeEvent(await heard.next()), expected);
    assert.equal((decodeEvent(await heard.next()) as PresenceEvent).online, false);
  } finally {
    if (subscriber.isOpen) await subscriber.quit();
    if (client.isOpen) await client.quit();
    await dropRedisPrefix(prefix);
  }
});
