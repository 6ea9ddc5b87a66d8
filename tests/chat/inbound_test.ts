/** `Inbound`: checks, rate limit, batched storing and answers, with a real SQLite repository. */
import { sqliteOptions } from "../support/backend_options.ts";
import assert from "node:assert/strict";
import { Inbound, type InboundSink } from "../../lib/chat/inbound.ts";
import { DISCONNECT, type Disconnect } from "../../lib/protocol/disconnect.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { silentLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import type { Repository } from "../../lib/storage/repository.ts";
import { waitFor } from "../support/wait.ts";
import { addUser } from "../storage/contract_support.ts";

/** A sink that records every answer, receipt, termination and failure. */
function recordingSink() {
  const replies: Record<string, unknown>[] = [];
  const acks: number[] = [];
  const terminations: Disconnect[] = [];
  const failures: string[] = [];
  const sink: InboundSink = {
    reply: (frame) => replies.push(JSON.parse(frame)),
    acknowledged: (upTo) => acks.push(upTo),
    control: () => {
      throw new Error("a seed socket never hands on a control frame");
    },
    terminate: (disconnect) => terminations.push(disconnect),
    fail: (event) => failures.push(event),
  };
  return { sink, replies, acks, terminations, failures };
}

interface FixtureOptions {
  rate?: number;
  burst?: number;
  queue?: number;
  repository?: Repository;
  clock?: () => number;
}

async function fixture(options: FixtureOptions = {}) {
  const base = new SqliteRepository(":memory:", sqliteOptions());
  const user = (name: string) => addUser(base, name);
  const tom = await user("Tom");
  const jack = await user("Jack");
  const hub = new MemoryHub();
  const published: string[] = [];
  hub.publish = (message) => {
    published.push(message.msg);
    return Promise.resolve();
  };
  const recorded = recordingSink();
  const inbound = new Inbound(tom, jack, 1, {
    repository: options.repository ?? base,
    hub,
    clock: options.clock ?? Date.now,
    log: silentLogger,
    metrics: new Metrics(),
    maxMessageChars: 10,
    maxFrameBytes: 256,
    limits: {
      messageRate: options.rate ?? 1000,
      messageBurst: options.burst ?? 1000,
      messageQueue: options.queue ?? 100,
      messageQueueBytes: 1 << 20,
    },
  }, recorded.sink);
  return { base, tom, jack, inbound, published, ...recorded };
}

Deno.test("messages are stored in order, published, then acknowledged by id", async () => {
  const f = await fixture();
  try {
    f.inbound.received('{"msg":"one","id":"a"}');
    f.inbound.received('{"msg":"two"}');
    await f.inbound.settled();
    assert.deepEqual(f.published, ["one", "two"]);
    assert.equal(f.replies.length, 1);
    assert.equal(f.replies[0].status, 30010);
    const history = await f.base.history(f.tom.id, f.jack.id, { limit: 10 });
    assert.deepEqual(history.map((m) => m.msg), ["two", "one"]);
  } finally {
    await f.base.close();
  }
});

Deno.test("a repeated id is answered with the first message's id and published again", async () => {
  const f = await fixture();
  try {
    f.inbound.received('{"msg":"once","id":"a"}');
    await f.inbound.settled();
    f.inbound.received('{"msg":"once","id":"a"}');
    await f.inbound.settled();
    // Published again in case the first publish never happened; sockets drop it by id.
    assert.deepEqual(f.published, ["once", "once"]);
    const [first, second] = f.replies as { body: { message_id: number } }[];
    assert.equal(first.body.message_id, second.body.message_id);
    const history = await f.base.history(f.tom.id, f.jack.id, { limit: 10 });
    assert.equal(history.length, 1);
  } finally {
    await f.base.close();
  }
});

Deno.test("bad frames with an id are answered with 30004 naming the reason and the id, in turn", async () => {
  const f = await fixture();
  try {
    f.inbound.received('{"msg":5,"id":"a"}');
    f.inbound.received('{"msg":"ok","id":"b"}');
    f.inbound.received('{"msg":"far too long for ten","id":"c"}');
    f.inbound.received('{"ack":1,"msg":"x","id":"d"}');
    await f.inbound.settled();
    assert.deepEqual(f.replies.map((r) => [r.status, r.body]), [
      [30004, { reason: "msg must be a string", id: "a" }],
      [30010, f.replies[1].body],
      [30004, { reason: "msg is longer than 10 characters", id: "c" }],
      [30004, { reason: "a frame carries msg or ack, not both", id: "d" }],
    ]);
    assert.deepEqual(f.published, ["ok"]);
    assert.deepEqual(f.terminations, []);
  } finally {
    await f.base.close();
  }
});

Deno.test("a bad frame without id ends the socket after storing what came before it; nothing after is read", async () => {
  for (
    const [frame, code] of [
      ["not json", 1008],
      [new Uint8Array([1]).buffer, 1003],
      ['{"msg":"far too long for ten"}', 1008],
      ['{"ack":1,"msg":"x"}', 1008],
    ] as const
  ) {
    const f = await fixture();
    try {
      f.inbound.received('{"msg":"before"}');
      f.inbound.received(frame);
      f.inbound.received('{"msg":"after"}');
      await f.inbound.settled();
      assert.deepEqual(f.published, ["before"]);
      assert.equal(f.terminations.length, 1);
      assert.equal(f.terminations[0].kind, "invalid_message");
      assert.equal(f.terminations[0].code, code);
      assert.match(f.terminations[0].reason, /^Invalid message, not stored: /);
      assert.equal(JSON.parse(f.terminations[0].frame!).status, 30004);
      assert.deepEqual(f.replies, []);
    } finally {
      await f.base.close();
    }
  }
});

Deno.test("a receipt is handed on at once and costs no rate", async () => {
  const f = await fixture({ rate: 1, burst: 1 });
  try {
    f.inbound.received('{"ack":7}');
    f.inbound.received('{"ack":9}');
    f.inbound.received('{"msg":"allowed","id":"m"}');
    await f.inbound.settled();
    assert.deepEqual(f.acks, [7, 9]);
    assert.equal(f.replies[0].status, 30010);
  } finally {
    await f.base.close();
  }
});

Deno.test("past the burst a frame gets 30005 with its id and is not stored", async () => {
  const f = await fixture({ rate: 1, burst: 1 });
  try {
    f.inbound.received('{"msg":"first"}');
    f.inbound.received('{"msg":"second","id":"b"}');
    await f.inbound.settled();
    assert.deepEqual(f.published, ["first"]);
    assert.equal(f.replies[0].status, 30005);
    const body = f.replies[0].body as { id: string; retry_after_ms: number };
    assert.equal(body.id, "b");
    assert.ok(body.retry_after_ms > 0);
  } finally {
    await f.base.close();
  }
});

Deno.test("a frame over the byte limit ends the socket with 1009", async () => {
  const f = await fixture();
  try {
    f.inbound.received(JSON.stringify({ msg: "x".repeat(300) }));
    assert.deepEqual(f.terminations, [DISCONNECT.FRAME_TOO_BIG]);
    await f.inbound.settled();
    assert.deepEqual(f.published, []);
  } finally {
    await f.base.close();
  }
});

Deno.test("a storage failure answers 30011 to a frame with an id, and ends a socket without", async () => {
  const base = new SqliteRepository(":memory:", sqliteOptions());
  const failing = { saveMessages: () => Promise.reject(new Error("disk full")) };
  const f = await fixture({ repository: failing as unknown as Repository });
  try {
    f.inbound.received('{"msg":"a","id":"1"}');
    f.inbound.received('{"msg":"b"}');
    f.inbound.received('{"msg":"c","id":"2"}');
    await f.inbound.settled();
    assert.deepEqual(f.replies, [
      { status: 30011, msg: "Message not stored, try again", body: { id: "1" } },
    ]);
    assert.deepEqual(f.terminations, [DISCONNECT.NOT_STORED]);
    assert.equal(DISCONNECT.NOT_STORED.code, 1013);
    assert.deepEqual(f.published, []);
  } finally {
    await f.base.close();
    await base.close();
  }
});

Deno.test("frames without id over the rate wait and are stored in order as the bucket refills", async () => {
  let now = 1_000_000;
  const f = await fixture({ rate: 10, burst: 3, clock: () => now });
  try {
    for (let i = 1; i <= 6; i++) f.inbound.received(JSON.stringify({ msg: `m${i}` }));
    await waitFor(() => f.published.length === 3, "the burst");
    assert.deepEqual(f.published, ["m1", "m2", "m3"]);
    now += 200; // Two tokens.
    await waitFor(() => f.published.length === 5, "two more as the bucket refills");
    now += 100;
    await f.inbound.settled();
    assert.deepEqual(f.published, ["m1", "m2", "m3", "m4", "m5", "m6"]);
    assert.deepEqual(f.replies, []);
    assert.deepEqual(f.terminations, []);
  } finally {
    await f.base.close();
  }
});

Deno.test("past MSG_QUEUE waiting the socket ends with 30005 and 1008, everything received stored", async () => {
  const now = 1_000_000;
  const f = await fixture({ rate: 1, burst: 1, queue: 2, clock: () => now });
  try {
    for (let i = 1; i <= 5; i++) f.inbound.received(JSON.stringify({ msg: `m${i}` }));
    await f.inbound.settled();
    // m1 passed, m2 and m3 waited, m4 overflowed: all four stored, m5 came after the end.
    assert.deepEqual(f.published, ["m1", "m2", "m3", "m4"]);
    assert.equal(f.terminations.length, 1);
    assert.equal(f.terminations[0].kind, "sending_too_fast");
    assert.equal(f.terminations[0].code, 1008);
    assert.equal(JSON.parse(f.terminations[0].frame!).status, 30005);
  } finally {
    await f.base.close();
  }
});

Deno.test("closing stores at once what waits for the rate", async () => {
  const now = 1_000_000;
  const f = await fixture({ rate: 1, burst: 1, clock: () => now });
  try {
    for (let i = 1; i <= 4; i++) f.inbound.received(JSON.stringify({ msg: `m${i}` }));
    f.inbound.close();
    await f.inbound.settled();
    assert.deepEqual(f.published, ["m1", "m2", "m3", "m4"]);
  } finally {
    await f.base.close();
  }
});
