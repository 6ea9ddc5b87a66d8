/** The chat session without a network: a fake socket and a repository whose reads can be held. */
import assert from "node:assert/strict";
import { ChatSession } from "../../lib/chat/chat_session.ts";
import { ConversationNotifier } from "../../lib/chat/conversation_notifier.ts";
import { DeliveryMarker } from "../../lib/chat/delivery_marker.ts";
import type { ChatSocket } from "../../lib/chat/socket.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { silentLogger } from "../../lib/log.ts";
import { Metrics } from "../../lib/metrics.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { sqliteOptions } from "../support/backend_options.ts";
import type { Repository, UserRef } from "../../lib/storage/repository.ts";
import { StorageUnavailableError } from "../../lib/storage/errors.ts";
import { SessionAuthenticator } from "../../lib/auth/authenticator.ts";
import { addUser } from "../storage/contract_support.ts";

class FakeSocket implements ChatSocket {
  readonly sent: string[] = [];
  closedWith: number | null = null;
  bufferedAmount = 0;
  send(frame: string) {
    if (this.closedWith === null) this.sent.push(frame);
  }
  close(code: number) {
    this.closedWith = code;
  }
  messages(): string[] {
    return this.sent.map((f) => JSON.parse(f)).filter((f) => f.status === 30001).map((f) =>
      f.body.msg
    );
  }
}

/** A repository that forwards every call to `base` except those in `overrides`. */
function delegate(base: Repository, overrides: Partial<Repository>): Repository {
  return {
    createUser: (...args) => base.createUser(...args),
    findUser: (...args) => base.findUser(...args),
    createToken: (...args) => base.createToken(...args),
    findSession: (...args) => base.findSession(...args),
    deleteToken: (...args) => base.deleteToken(...args),
    deleteExpiredTokens: (...args) => base.deleteExpiredTokens(...args),
    saveMessages: (...args) => base.saveMessages(...args),
    saveMessagesWithin: (...args) => base.saveMessagesWithin(...args),
    waitingCount: (...args) => base.waitingCount(...args),
    markDelivered: (...args) => base.markDelivered(...args),
    deliveredUpto: (...args) => base.deliveredUpto(...args),
    conversations: (...args) => base.conversations(...args),
    conversation: (...args) => base.conversation(...args),
    conversationPeers: (...args) => base.conversationPeers(...args),
    markRead: (...args) => base.markRead(...args),
    waitingMessages: (...args) => base.waitingMessages(...args),
    history: (...args) => base.history(...args),
    searchMessages: (...args) => base.searchMessages(...args),
    recallMessage: (...args) => base.recallMessage(...args),
    updateUser: (...args) => base.updateUser(...args),
    deleteUser: (...args) => base.deleteUser(...args),
    recordPresence: (...args) => base.recordPresence(...args),
    createApiKey: (...args) => base.createApiKey(...args),
    findApiKey: (...args) => base.findApiKey(...args),
    listApiKeys: () => base.listApiKeys(),
    deleteApiKey: (...args) => base.deleteApiKey(...args),
    claimWebhookEvents: (...args) => base.claimWebhookEvents(...args),
    settleWebhookEvent: (...args) => base.settleWebhookEvent(...args),
    webhookBacklog: () => base.webhookBacklog(),
    ping: () => base.ping(),
    probeWrite: (at) => base.probeWrite(at),
    close: () => base.close(),
    ...overrides,
  };
}

/** A repository whose `waitingMessages` waits for `release()`, to widen the race on connect. */
function holdingWaitingReads(repository: Repository) {
  const gate = Promise.withResolvers<void>();
  const reached = Promise.withResolvers<void>();
  const held = delegate(repository, {
    waitingMessages: async (...args) => {
      const page = await repository.waitingMessages(...args);
      reached.resolve();
      await gate.promise;
      return page;
    },
  });
  return { repository: held, release: () => gate.resolve(), reached: reached.promise };
}

async function fixture() {
  const base = new SqliteRepository(":memory:", sqliteOptions());
  const user = (name: string) => addUser(base, name);
  const tom = await user("Tom");
  const jack = await user("Jack");
  for (const who of [tom, jack]) {
    await base.createToken({
      tokenHash: `${who.username}-token`,
      userId: who.id,
      createdAt: 0,
      expiresAt: Date.UTC(2100, 0, 1),
    });
  }
  const hub = new MemoryHub();
  const context = (repository: Repository) => ({
    repository,
    hub,
    deliveries: new DeliveryMarker(repository, silentLogger),
    notifier: new ConversationNotifier({ repository, hub, log: silentLogger }),
    clock: () => Date.now(),
    log: silentLogger,
    metrics: new Metrics(),
    maxMessageChars: 4096,
    maxFrameBytes: 65536,
    limits: {
      messageRate: 1000,
      messageBurst: 1000,
      messageQueue: 100,
      messageQueueBytes: 1 << 20,
      maxBufferedBytes: 1 << 20,
      maxUnacked: 100,
      typingRate: 2,
      typingBurst: 5,
    },
    nextConnectionId: () => 1,
    authenticator: new SessionAuthenticator({ repository, clock: Date.now, log: silentLogger }),
  });
  const session = (
    socket: FakeSocket,
    me: UserRef,
    peer: UserRef,
    repository: Repository,
    receipts = false,
  ) =>
    new ChatSession(socket, {
      admitted: true,
      session: { tokenHash: `${me.username}-token`, user: me, expiresAt: Date.now() + 60_000 },
      peer,
      receipts,
      v2: false,
    }, context(repository));
  return { base, tom, jack, hub, session };
}

Deno.test("a live message that arrives while waiting ones load is sent after them, once", async () => {
  const { base, tom, jack, session } = await fixture();
  try {
    const tomSocket = new FakeSocket();
    const tomSession = session(tomSocket, tom, jack, base);
    tomSession.opened();
    tomSession.received(JSON.stringify({ msg: "waiting 1" }));
    tomSession.received(JSON.stringify({ msg: "waiting 2" }));
    await tomSession.settled();

    const held = holdingWaitingReads(base);
    const jackSocket = new FakeSocket();
    const jackSession = session(jackSocket, jack, tom, held.repository);
    jackSession.opened();
    await held.reached;
    // Jack is on the pair but still reading waiting messages: this one must not overtake them.
    tomSession.received(JSON.stringify({ msg: "live" }));
    await tomSession.settled();
    assert.deepEqual(jackSocket.messages(), []);
    held.release();
    await jackSession.settled();
    assert.deepEqual(jackSocket.messages(), ["waiting 1", "waiting 2", "live"]);
    tomSession.closed(1000);
    jackSession.closed(1000);
  } finally {
    await base.close();
  }
});

Deno.test("a message both waiting and held during connect is sent once", async () => {
  const { base, tom, jack, session } = await fixture();
  try {
    const tomSocket = new FakeSocket();
    const tomSession = session(tomSocket, tom, jack, base);
    tomSession.opened();
    tomSession.received(JSON.stringify({ msg: "first" }));
    await tomSession.settled();

    // The page holding "first" is read, then held back; meanwhile "first" is offered again
    // (as a retry or another node might) and "second" arrives live.
    const held = holdingWaitingReads(base);
    const jackSocket = new FakeSocket();
    const jackSession = session(jackSocket, jack, tom, held.repository);
    jackSession.opened();
    await held.reached;
    const [first] = await base.waitingMessages(jack.id, tom.id, 0, 10);
    jackSession.deliver(
      first,
      JSON.stringify({ status: 30001, msg: "OK", body: { msg: "first" } }),
    );
    tomSession.received(JSON.stringify({ msg: "second" }));
    await tomSession.settled();
    held.release();
    await jackSession.settled();
    assert.deepEqual(jackSocket.messages(), ["first", "second"]);
    tomSession.closed(1000);
    jackSession.closed(1000);
  } finally {
    await base.close();
  }
});

Deno.test("a presence frame that arrives while the socket starts comes after its own 30098", async () => {
  const { base, tom, jack, session } = await fixture();
  try {
    const tomSocket = new FakeSocket();
    const tomSession = session(tomSocket, tom, jack, base);
    tomSession.opened();
    await tomSession.settled();

    // Jack joins and the hub finds Tom online; Tom leaves before Jack's session has sent its
    // own 30098 (it is still re-checking the token).
    const gate = Promise.withResolvers<void>();
    const reached = Promise.withResolvers<void>();
    const slowCheck = delegate(base, {
      findSession: async (...args) => {
        reached.resolve();
        await gate.promise;
        return base.findSession(...args);
      },
    });
    const jackSocket = new FakeSocket();
    const jackSession = session(jackSocket, jack, tom, slowCheck);
    jackSession.opened();
    await reached.promise;
    tomSession.closed(1000);
    gate.resolve();
    await jackSession.settled();
    assert.deepEqual(jackSocket.sent.map((frame) => JSON.parse(frame).status), [30098, 30099]);
    jackSession.closed(1000);
  } finally {
    await base.close();
  }
});

Deno.test("a message is acknowledged after it was handed to the hub", async () => {
  const { base, tom, jack, hub, session } = await fixture();
  try {
    const order: string[] = [];
    const publish = hub.publish.bind(hub);
    hub.publish = async (...args) => {
      order.push("published");
      await publish(...args);
    };
    const socket = new FakeSocket();
    socket.send = (frame: string) => {
      if (JSON.parse(frame).status === 30010) order.push("acknowledged");
    };
    const tomSession = session(socket, tom, jack, base);
    tomSession.opened();
    tomSession.received(JSON.stringify({ msg: "hello", id: "a1" }));
    await tomSession.settled();
    assert.deepEqual(order, ["published", "acknowledged"]);
    tomSession.closed(1000);
  } finally {
    await base.close();
  }
});

Deno.test("frames from one socket are stored in the order received", async () => {
  const { base, tom, jack, session } = await fixture();
  try {
    const socket = new FakeSocket();
    const tomSession = session(socket, tom, jack, base);
    tomSession.opened();
    for (let i = 0; i < 100; i++) tomSession.received(JSON.stringify({ msg: `m${i}` }));
    await tomSession.settled();
    const stored = await base.history(tom.id, jack.id, { limit: 200 });
    assert.deepEqual(
      stored.map((m) => m.msg).reverse(),
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    tomSession.closed(1000);
  } finally {
    await base.close();
  }
});

Deno.test("a storage failure answers 30011 with the id, stores nothing, and keeps the socket", async () => {
  const { base, tom, jack, session } = await fixture();
  try {
    const failing = delegate(base, {
      saveMessages: () => Promise.reject(new Error("disk I/O error")),
      saveMessagesWithin: () => Promise.reject(new Error("disk I/O error")),
    });
    const socket = new FakeSocket();
    const tomSession = session(socket, tom, jack, failing);
    tomSession.opened();
    tomSession.received(JSON.stringify({ msg: "lost?", id: "x1" }));
    await tomSession.settled();
    assert.deepEqual(JSON.parse(socket.sent.at(-1)!), {
      status: 30011,
      msg: "Message not stored, try again",
      body: { id: "x1" },
    });
    assert.equal(socket.closedWith, null);
    assert.equal((await base.history(tom.id, jack.id, { limit: 10 })).length, 0);
    tomSession.closed(1000);
  } finally {
    await base.close();
  }
});

Deno.test("a token revoked between admission and join closes the socket with 30002", async () => {
  const { base, tom, jack, session } = await fixture();
  try {
    await base.deleteToken("Tom-token");
    const socket = new FakeSocket();
    const tomSession = session(socket, tom, jack, base);
    tomSession.opened();
    await tomSession.settled();
    assert.deepEqual(socket.sent, [
      '{"status":30002,"msg":"Token authentication failed","body":{}}',
    ]);
    assert.equal(socket.closedWith, 1008);
  } finally {
    await base.close();
  }
});

Deno.test("storage that cannot serve while the socket starts closes it with 1013, a bug with 1011", async () => {
  const { base, tom, jack, session } = await fixture();
  try {
    const failures = [
      {
        error: new StorageUnavailableError("SQLite cannot serve now: database is locked"),
        code: 1013,
      },
      { error: new Error("A bug"), code: 1011 },
    ];
    for (const { error, code } of failures) {
      const failing = delegate(base, { waitingMessages: () => Promise.reject(error) });
      const socket = new FakeSocket();
      const tomSession = session(socket, tom, jack, failing);
      tomSession.opened();
      await tomSession.settled();
      assert.equal(socket.closedWith, code, error.message);
    }
  } finally {
    await base.close();
  }
});
