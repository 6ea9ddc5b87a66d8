/**
 * The chat client against a real service's limits and receipts: a burst over MSG_BURST arrives
 * in full and in order, a user over MAX_CONNECTIONS_PER_USER is told so and gets in once a slot
 * frees, and in receipt mode nothing is shown twice or lost across a drop or a 1013.
 */
import assert from "node:assert/strict";
import { chatSocketUrl, SendError } from "../../lib/client/chat_client.ts";
import { historyTexts, registerAndLogin, startTestServer } from "../support/server.ts";
import { EventLog } from "../support/fake_endpoint.ts";
import { untilState, watch, type Watched } from "../support/watched_client.ts";
import { ControlledSocket } from "../support/controlled_socket.ts";
import type { WebSocketFactory } from "../../lib/client/chat_client.ts";
import { withTimeout } from "../support/wait.ts";

async function messageTexts(watched: Watched, count: number): Promise<string[]> {
  const texts: string[] = [];
  while (texts.length < count) texts.push((await watched.events.message.next()).msg);
  return texts;
}

/** A socket of the client that records the frames it receives and the receipts it sends. */
class WatchedSocket extends ControlledSocket {
  /** Every frame from the service, parsed. */
  readonly frames: EventLog<{ status: number; body: Record<string, unknown> }>;
  /** The `ack` of every receipt the client sent (withheld or not). */
  readonly acks = new EventLog<number>("a receipt sent by the client");
  readonly #withholdAcks: boolean;

  constructor(url: string, withholdAcks: boolean) {
    const frames = new EventLog<{ status: number; body: Record<string, unknown> }>(
      "a frame from the service",
    );
    super(url, (data) => {
      frames.push(JSON.parse(data));
      return "pass";
    });
    this.frames = frames;
    this.#withholdAcks = withholdAcks;
  }

  override send(data: string): void {
    const frame = JSON.parse(data);
    if (typeof frame.ack === "number") {
      this.acks.push(frame.ack);
      // Lost on the way, as on a connection that dies before the receipt leaves.
      if (this.#withholdAcks) return;
    }
    super.send(data);
  }

  /** Waits for the 30001 frames of `count` messages; returns their texts. */
  async messages(count: number): Promise<string[]> {
    const texts: string[] = [];
    while (texts.length < count) {
      const frame = await this.frames.next();
      if (frame.status === 30001) texts.push(frame.body.msg as string);
    }
    return texts;
  }
}

/** A WebSocket constructor whose sockets withhold their receipts while `withhold(index)`. */
function watchedSockets(withhold: (index: number) => boolean): {
  readonly WebSocket: WebSocketFactory;
  readonly opened: EventLog<WatchedSocket>;
} {
  const opened = new EventLog<WatchedSocket>("a socket opened by the client");
  let count = 0;
  class Factory extends WatchedSocket {
    constructor(url: string) {
      super(url, withhold(count++));
      opened.push(this);
    }
  }
  return { WebSocket: Factory, opened };
}

/** Opens a plain socket and waits until it is open. */
async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  const open = Promise.withResolvers<void>();
  socket.onopen = () => open.resolve();
  socket.onerror = () => open.reject(new Error(`could not open ${url}`));
  await withTimeout(open.promise, "a socket to open");
  return socket;
}

/** Closes a plain socket and waits until it is closed. */
async function closeSocket(socket: WebSocket): Promise<void> {
  const closed = Promise.withResolvers<void>();
  socket.onclose = () => closed.resolve();
  socket.close();
  await withTimeout(closed.promise, "a socket to close");
}

Deno.test("a burst larger than MSG_BURST arrives in full, in order, each once", async () => {
  await using server = await startTestServer({ env: { MSG_BURST: "5", MSG_RATE: "50" } });
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using jackSide = watch({ baseUrl: server.baseUrl, token: jack, peer: "Tom" });
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  jackSide.client.connect();
  await untilState(jackSide, "open");
  const texts = Array.from({ length: 40 }, (_, i) => `消息 ${i + 1}`);
  // Half queued while the socket is not open yet (as after a reconnect), half while it is.
  const sends = texts.slice(0, 20).map((text) => tomSide.client.send(text));
  tomSide.client.connect();
  await untilState(tomSide, "open");
  sends.push(...texts.slice(20).map((text) => tomSide.client.send(text)));
  const stored = await withTimeout(Promise.all(sends), "every send to be stored", 10_000);
  const ids = stored.map((s) => s.messageId);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "stored in the order sent");
  assert.deepEqual(await messageTexts(jackSide, 40), texts);
  assert.deepEqual(await historyTexts(server, tom, "Jack"), texts);
  // The limit was met: each 30005 named a message and a wait, and nothing was lost to it.
  const limited = tomSide.events.error.all.filter((e) => e.status === 30005);
  assert.ok(limited.length > 0, "the burst met the rate limit");
  for (const error of limited) {
    assert.ok(error.retryAfterMs !== null && error.retryAfterMs > 0);
    assert.ok(error.id !== null && stored.some((s) => s.id === error.id));
    assert.equal(error.fatal, false);
  }
  // Once a 30005 showed the rate, frames are spaced by it rather than rejected one by one.
  assert.ok(limited.length < 20, `${limited.length} frames rate-limited for 35 over the burst`);
  // A note that nothing came twice: one more message is the next event.
  await tomSide.client.send("last");
  assert.equal((await jackSide.events.message.next()).msg, "last");
  assert.equal(jackSide.events.message.all.length, 41);
});

Deno.test("30006 is an error event; the client backs off and gets in once a slot frees", async () => {
  await using server = await startTestServer({ env: { MAX_CONNECTIONS_PER_USER: "1" } });
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  // Tom's one slot is taken, say by another tab.
  const other = await openSocket(chatSocketUrl(server.baseUrl, "Jack", tom));
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  const sent = tomSide.client.send("when a slot is free");
  tomSide.client.connect();
  assert.deepEqual(await tomSide.events.error.next(), {
    status: 30006,
    message: "Too many connections",
    reason: null,
    id: null,
    fatal: false,
    retryAfterMs: null,
    limit: 1,
  });
  // Each refusal counts as a failed attempt: the backoff grows instead of starting over.
  const attempts = [];
  for (let i = 0; i < 3; i++) {
    const retrying = await untilState(tomSide, "retrying");
    assert.equal(retrying.closeCode, 1008);
    attempts.push(retrying.attempt);
  }
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal(tomSide.client.pendingCount, 1);
  await closeSocket(other);
  const stored = await withTimeout(sent, "the message to be stored once a slot is free", 5000);
  assert.equal(tomSide.client.state, "open");
  assert.deepEqual(await historyTexts(server, jack, "Tom"), ["when a slot is free"]);
  assert.ok(stored.messageId > 0);
  assert.ok(tomSide.events.error.all.every((e) => e.status === 30006 && !e.fatal));
});

Deno.test("the client acknowledges in receipt mode, so a later socket gets only what is new", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  tomSide.client.connect();
  for (const text of ["one", "two", "three"]) await tomSide.client.send(text);
  const sockets = watchedSockets(() => false);
  const jackSide = watch({
    baseUrl: server.baseUrl,
    token: jack,
    peer: "Tom",
    WebSocket: sockets.WebSocket,
  });
  jackSide.client.connect();
  assert.match((await sockets.opened.next()).url, /[?&]ack=1$/);
  assert.deepEqual(await messageTexts(jackSide, 3), ["one", "two", "three"]);
  const [socket] = sockets.opened.all;
  const lastId = jackSide.events.message.all[2].messageId;
  // Cumulative: the last receipt covers all three.
  while ((await socket.acks.next()) < lastId);
  await jackSide.client.close();
  // A plain receipt-mode socket now finds nothing waiting: the next message is the new one.
  const fresh = new WatchedSocket(
    chatSocketUrl(server.baseUrl, "Tom", jack, { receipts: true }),
    false,
  );
  try {
    await tomSide.client.send("four");
    assert.deepEqual(await fresh.messages(1), ["four"]);
  } finally {
    fresh.close();
    await withTimeout(socketClosed(fresh), "the plain socket to close");
  }
});

function socketClosed(socket: ControlledSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  const closed = Promise.withResolvers<void>();
  socket.onclose = () => closed.resolve();
  return closed.promise;
}

Deno.test("messages received but not acknowledged before a drop come again and are not shown twice", async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  // Jack's first socket loses its receipts on the way.
  const sockets = watchedSockets((index) => index === 0);
  await using jackSide = watch({
    baseUrl: server.baseUrl,
    token: jack,
    peer: "Tom",
    WebSocket: sockets.WebSocket,
  });
  jackSide.client.connect();
  tomSide.client.connect();
  const first = await sockets.opened.next();
  for (const text of ["a", "b", "c"]) await tomSide.client.send(text);
  assert.deepEqual(await messageTexts(jackSide, 3), ["a", "b", "c"]);
  await first.acks.next();
  first.drop();
  await untilState(jackSide, "retrying");
  // The service sends all three again on the next socket; the client hands none of them on.
  const second = await sockets.opened.next();
  assert.deepEqual(await second.messages(3), ["a", "b", "c"]);
  await tomSide.client.send("d");
  assert.deepEqual(await messageTexts(jackSide, 1), ["d"]);
  assert.deepEqual(jackSide.events.message.all.map((m) => m.msg), ["a", "b", "c", "d"]);
});

Deno.test("a 1013 loses nothing: what was not acknowledged comes on the next socket, once, in order", async () => {
  await using server = await startTestServer({ env: { MAX_UNACKED: "3" } });
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using tomSide = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  // Jack's first socket never gets a receipt through, so the service's window fills up; no
  // history catch-up, so whatever arrives comes from the socket.
  const sockets = watchedSockets((index) => index === 0);
  await using jackSide = watch({
    baseUrl: server.baseUrl,
    token: jack,
    peer: "Tom",
    WebSocket: sockets.WebSocket,
    catchUp: false,
  });
  jackSide.client.connect();
  tomSide.client.connect();
  // Jack's socket has joined: Tom's messages reach it live, where a full window means 1013.
  while (!(await tomSide.events.presence.next()).online);
  const texts = ["m1", "m2", "m3", "m4", "m5", "m6"];
  for (const text of texts) await tomSide.client.send(text);
  const dropped = await untilState(jackSide, "retrying");
  assert.equal(dropped.closeCode, 1013);
  assert.deepEqual(await messageTexts(jackSide, 6), texts);
  await tomSide.client.send("m7");
  assert.deepEqual(await messageTexts(jackSide, 1), ["m7"]);
  assert.equal(jackSide.events.message.all.length, 7);
  assert.equal(jackSide.client.state, "open");
});

Deno.test("over a storage quota the send rejects with 30007 or 30008 (retryable); the queue goes on", async () => {
  await using server = await startTestServer({
    env: { QUOTA_DAILY_MESSAGES: "2", QUOTA_WAITING_MESSAGES: "1" },
  });
  const tom = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jack");
  await using side = watch({ baseUrl: server.baseUrl, token: tom, peer: "Jack" });
  side.client.connect();
  await untilState(side, "open");
  const first = side.client.send("one", { id: "one" });
  const waiting = side.client.send("two", { id: "two" });
  await first;
  await assert.rejects(waiting, (e) => e instanceof SendError && e.status === 30008 && e.retryable);
  const waitingError = await side.events.error.next();
  assert.equal(waitingError.status, 30008);
  assert.equal(waitingError.id, "two");
  assert.equal(waitingError.limit, 1);
  // A note to self is another receiver; then the day's two are used up.
  await using self = watch({ baseUrl: server.baseUrl, token: tom, peer: "Tom" });
  self.client.connect();
  await untilState(self, "open");
  await self.client.send("note", { id: "note" });
  const overDaily = self.client.send("another note", { id: "late" });
  await assert.rejects(overDaily, (e) => e instanceof SendError && e.status === 30007);
  const dailyError = await self.events.error.next();
  assert.equal(dailyError.id, "late");
  assert.equal(dailyError.limit, 2);
  assert.ok((dailyError.retryAfterMs ?? 0) > 0);
  assert.equal(self.client.state, "open");
  assert.deepEqual(await historyTexts(server, tom, "Jack"), ["one"]);
});
