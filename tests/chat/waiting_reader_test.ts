/**
 * `WaitingReader`: what waits is written before live traffic, on open and on every catch-up (a
 * node died between storing and publishing), in `message_id` order and each message once.
 */
import assert from "node:assert/strict";
import { WaitingReader } from "../../lib/chat/waiting_reader.ts";
import { Outbound } from "../../lib/chat/outbound.ts";
import { DeliveryMarker } from "../../lib/chat/delivery_marker.ts";
import type { ChatSocket } from "../../lib/chat/socket.ts";
import { chatMessageFrame } from "../../lib/protocol/server_frame.ts";
import { silentLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import type { Repository, StoredMessage } from "../../lib/storage/repository.ts";
import { sqliteOptions } from "../support/backend_options.ts";
import { addUser } from "../storage/contract_support.ts";

class FakeSocket implements ChatSocket {
  readonly sent: string[] = [];
  bufferedAmount = 0;
  send(frame: string) {
    this.sent.push(frame);
  }
  close() {}
  /** The texts of the messages written, in order. */
  texts(): string[] {
    return this.sent.map((frame) => JSON.parse(frame)).filter((f) => f.status === 30001)
      .map((f) => f.body.msg);
  }
}

type WaitingReads = Pick<Repository, "waitingMessages">;

async function fixture(wrap: (repository: Repository) => WaitingReads = (r) => r) {
  const repository = new SqliteRepository(":memory:", sqliteOptions());
  const user = (name: string) => addUser(repository, name);
  const tom = await user("Tom");
  const jack = await user("Jack");
  const socket = new FakeSocket();
  const outbound = new Outbound({
    socket,
    receipts: false,
    limits: { maxBufferedBytes: 1 << 20, maxUnacked: 100 },
    deliveries: new DeliveryMarker(repository, silentLogger),
    metrics: new Metrics(),
    onTooSlow: () => assert.fail("not too slow"),
  });
  const reader = new WaitingReader({
    repository: wrap(repository),
    receiver: jack.id,
    sender: tom.id,
    outbound,
  });
  /** Stores messages from Tom to Jack without publishing them, as a dying node would. */
  const store = async (...texts: string[]): Promise<StoredMessage[]> =>
    (await repository.saveMessages(texts.map((msg) => ({
      from: tom,
      to: jack,
      msg,
      sendTime: "2024-05-01 12:00:00",
      sentAt: 0,
      clientId: null,
    })))).map((saved) => saved.message);
  const live = (message: StoredMessage) => outbound.deliver(message, chatMessageFrame(message));
  return { repository, socket, outbound, reader, store, live };
}

Deno.test("a catch-up writes what was stored and not published before the live messages after it", async () => {
  const f = await fixture();
  try {
    await f.store("waited");
    await f.reader.readOnOpen();
    const [first] = await f.store("first live");
    f.live(first);
    // Stored by a node that died before publishing; then the hub asks for a catch-up, and a
    // later message arrives live while the catch-up reads.
    await f.store("never published 1", "never published 2");
    const caughtUp = f.reader.catchUp();
    const [later] = await f.store("later live");
    f.live(later);
    await caughtUp;
    assert.deepEqual(f.socket.texts(), [
      "waited",
      "first live",
      "never published 1",
      "never published 2",
      "later live",
    ]);
    // Live traffic flows again, and nothing comes twice.
    const [after] = await f.store("after");
    f.live(after);
    f.live(later);
    assert.deepEqual(f.socket.texts().slice(-1), ["after"]);
    assert.equal(f.socket.texts().length, 6);
  } finally {
    await f.repository.close();
  }
});

Deno.test("a catch-up asked while a read runs reads again before live traffic goes on", async () => {
  const gate = Promise.withResolvers<void>();
  const reached = Promise.withResolvers<void>();
  let reads = 0;
  const f = await fixture((repository) => ({
    waitingMessages: async (...args: Parameters<Repository["waitingMessages"]>) => {
      const page = await repository.waitingMessages(...args);
      if (reads++ === 0) {
        reached.resolve();
        await gate.promise;
      }
      return page;
    },
  }));
  try {
    await f.store("one");
    const opening = f.reader.readOnOpen();
    await reached.promise;
    // Stored after the first read looked, never published; the catch-up comes meanwhile.
    await f.store("two");
    const caughtUp = f.reader.catchUp();
    const [live] = await f.store("three");
    f.live(live);
    gate.resolve();
    await Promise.all([opening, caughtUp]);
    assert.deepEqual(f.socket.texts(), ["one", "two", "three"]);
  } finally {
    await f.repository.close();
  }
});

Deno.test("a catch-up before the socket's first read holds live traffic for it", async () => {
  const f = await fixture();
  try {
    await f.store("stored");
    await f.reader.catchUp();
    const [live] = await f.store("live");
    f.live(live);
    assert.deepEqual(f.socket.texts(), []);
    await f.reader.readOnOpen();
    assert.deepEqual(f.socket.texts(), ["stored", "live"]);
  } finally {
    await f.repository.close();
  }
});
