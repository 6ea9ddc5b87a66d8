/** `Inbound`: checks, rate limit, batched storing and answers, with a real SQLite repository. */
import { sqliteOptions } from "../support/backend_options.ts";
import assert from "node:assert/strict";
import { Inbound, type InboundSink } from "../../lib/chat/inbound.ts";
import { DISCONNECT, type Disconnect } from "../../lib/protocol/disconnect.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { silentLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import type { Repository, UserRef } from "../../lib/storage/repository.ts";

/** A sink that records every answer, receipt, termination and failure. */
function recordingSink() {
  const replies: Record<string, unknown>[] = [];
  const acks: number[] = [];
  const terminations: Disconnect[] = [];
  const failures: string[] = [];
  const sink: InboundSink = {
    reply: (frame) => replies.push(JSON.parse(frame)),
    acknowledged: (upTo) => acks.push(upTo),
    terminate: (disconnect) => terminations.push(disconnect),
    fail: (event) => failures.push(event),
  };
  return { sink, replies, acks, terminations, failures };
}

async function fixture(options: { rate?: number; burst?: number; repository?: Repository } = {}) {
  const base = new SqliteRepository(":memory:", sqliteOptions());
  const user = async (username: string): Promise<UserRef> =>
    (await base.createUser({
      username,
      usernameKey: username.toLowerCase(),
      passwordHash: "x",
      email: null,
      createdAt: 0,
    }))!;
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
    clock: Date.now,
    log: silentLogger,
    metrics: new Metrics(),
    maxMessageChars: 10,
    maxFrameBytes: 256,
    limits: { messageRate: options.rate ?? 1000, messageBurst: options.burst ?? 1000 },
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

Deno.test("a repeated id is answered with the first message's id and not published again", async () => {
  const f = await fixture();
  try {
    f.inbound.received('{"msg":"once","id":"a"}');
    await f.inbound.settled();
    f.inbound.received('{"msg":"once","id":"a"}');
    await f.inbound.settled();
    assert.deepEqual(f.published, ["once"]);
    const [first, second] = f.replies as { body: { message_id: number } }[];
    assert.equal(first.body.message_id, second.body.message_id);
  } finally {
    await f.base.close();
  }
});

Deno.test("bad frames are answered with 30004 naming the reason, in turn", async () => {
  const f = await fixture();
  try {
    f.inbound.received("not json");
    f.inbound.received(new Uint8Array([1]).buffer);
    f.inbound.received('{"msg":"ok"}');
    f.inbound.received('{"msg":"far too long for ten"}');
    await f.inbound.settled();
    assert.deepEqual(f.replies.map((r) => (r.body as { reason: string }).reason), [
      "frame is not valid JSON",
      "binary frames are not supported; send JSON text",
      "msg is longer than 10 characters",
    ]);
    assert.deepEqual(f.published, ["ok"]);
  } finally {
    await f.base.close();
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

Deno.test("a storage failure answers 30011 for each message of the batch", async () => {
  const base = new SqliteRepository(":memory:", sqliteOptions());
  const failing = { saveMessages: () => Promise.reject(new Error("disk full")) };
  const f = await fixture({ repository: failing as unknown as Repository });
  try {
    f.inbound.received('{"msg":"a","id":"1"}');
    f.inbound.received('{"msg":"b"}');
    await f.inbound.settled();
    assert.deepEqual(f.replies, [
      { status: 30011, msg: "Message not stored, try again", body: { id: "1" } },
      { status: 30011, msg: "Message not stored, try again", body: {} },
    ]);
    assert.deepEqual(f.published, []);
  } finally {
    await f.base.close();
    await base.close();
  }
});
