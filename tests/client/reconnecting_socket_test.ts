/**
 * The client's connection against a real WebSocket server on port 0: state events, frames, send,
 * drops, the backoff and what resets it, stop. Retry timers are fired by hand.
 */
import assert from "node:assert/strict";
import {
  type Backoff,
  backoffDelay,
  type ConnectionHandlers,
  ReconnectingSocket,
  type StateEvent,
} from "../../lib/client/reconnecting_socket.ts";
import { CLOSE_CODE } from "../../lib/protocol/status.ts";
import { EventLog } from "../support/fake_endpoint.ts";
import { ManualTimers } from "../support/manual_timers.ts";

/** A server side socket, and the frames and close it saw. */
interface Accepted {
  readonly socket: WebSocket;
  readonly frames: EventLog<string>;
  readonly closed: Promise<CloseEvent>;
}

/** A WebSocket server on port 0 that hands each accepted socket to the test once it is open. */
function startSocketServer() {
  const accepted = new EventLog<Accepted>("an accepted socket");
  const abort = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: abort.signal, onListen() {} },
    (request) => {
      const { socket, response } = Deno.upgradeWebSocket(request);
      const frames = new EventLog<string>("a frame at the server");
      const closed = Promise.withResolvers<CloseEvent>();
      socket.onmessage = (event) => frames.push(String(event.data));
      socket.onclose = (event) => closed.resolve(event);
      socket.onopen = () => accepted.push({ socket, frames, closed: closed.promise });
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${server.addr.port}/`,
    accepted,
    async [Symbol.asyncDispose]() {
      abort.abort();
      await server.finished;
    },
  };
}

const BACKOFF: Backoff = { initialMs: 100, maxMs: 1000, factor: 2 };

/** A connection to `url` with hand-fired timers, no jitter, and every callback logged. */
function connectionTo(url: string, onFrame: (connection: ReconnectingSocket) => void = () => {}) {
  const timers = new ManualTimers();
  const states = new EventLog<StateEvent>("a state event");
  const frames = new EventLog<string>("a frame at the client");
  const calls: string[] = [];
  const handlers: ConnectionHandlers = {
    opened: (reconnect) => calls.push(reconnect ? "reopened" : "opened"),
    frame: (text) => {
      frames.push(text);
      onFrame(connection);
    },
    dropped: () => calls.push(`dropped while ${connection.state}`),
    state: (event) => {
      calls.push(event.state);
      states.push(event);
    },
  };
  const connection = new ReconnectingSocket({
    url,
    WebSocket,
    backoff: BACKOFF,
    timers,
    random: () => 0,
    handlers,
  });
  return { connection, timers, states, frames, calls };
}

/** Reads state events until `state` comes; returns it. */
async function until(states: EventLog<StateEvent>, state: string): Promise<StateEvent> {
  for (;;) {
    const event = await states.next();
    if (event.state === state) return event;
  }
}

/** Stops the connection and waits for its socket to close. */
async function stop(connection: ReconnectingSocket): Promise<void> {
  connection.stop(null, () => {});
  await connection.closed;
}

Deno.test("backoff delays grow by the factor up to the maximum, jitter taking 50 to 100 %", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(BACKOFF, n, 0)), [
    50,
    100,
    200,
    400,
    500,
    500,
  ]);
  assert.equal(backoffDelay(BACKOFF, 0, 0.999), 100);
  assert.equal(backoffDelay(BACKOFF, 9, 0.5), 750);
});

Deno.test("frames of the open socket are handed on, and send works only while it is open", async () => {
  await using server = startSocketServer();
  const { connection, states, frames, calls } = connectionTo(server.url);
  assert.equal(connection.state, "idle");
  assert.equal(connection.send("too early"), false);
  connection.connect();
  assert.equal((await until(states, "open")).attempt, 0);
  const accepted = await server.accepted.next();
  assert.equal(connection.send("hello"), true);
  assert.equal(await accepted.frames.next(), "hello");
  accepted.socket.send("from the server");
  assert.equal(await frames.next(), "from the server");
  assert.deepEqual(calls, ["connecting", "open", "opened"]);
  await stop(connection);
  assert.equal(connection.send("too late"), false);
});

Deno.test("a drop is told before the retry, which reconnects after the backoff", async () => {
  await using server = startSocketServer();
  const { connection, timers, states, calls } = connectionTo(server.url);
  connection.connect();
  (await server.accepted.next()).socket.close(4000, "dropped");
  const retrying = await until(states, "retrying");
  assert.deepEqual(retrying, { state: "retrying", attempt: 1, retryInMs: 50, closeCode: 4000 });
  assert.equal(timers.fire(), 50);
  await until(states, "open");
  assert.deepEqual(calls, [
    "connecting",
    "open",
    "opened",
    "dropped while open",
    "retrying",
    "connecting",
    "open",
    "reopened",
  ]);
  await server.accepted.next();
  await stop(connection);
});

Deno.test("a socket closed with 1008 or 1013 before it brought anything does not reset the backoff", async () => {
  await using server = startSocketServer();
  const { connection, timers, states } = connectionTo(server.url);
  connection.connect();
  const delays = [];
  for (const code of [CLOSE_CODE.POLICY_VIOLATION, CLOSE_CODE.TRY_AGAIN_LATER]) {
    assert.equal((await until(states, "open")).attempt, 0);
    (await server.accepted.next()).socket.close(code, "no good");
    const retrying = await until(states, "retrying");
    assert.equal(retrying.closeCode, code);
    delays.push(retrying.retryInMs);
    timers.fire();
  }
  assert.deepEqual(delays, [50, 100]);
  await server.accepted.next();
  await stop(connection);
});

Deno.test("a socket that brought something counts as good even if closed with 1008 then", async () => {
  await using server = startSocketServer();
  const { connection, timers, states } = connectionTo(server.url, (c) => c.progressed());
  connection.connect();
  (await server.accepted.next()).socket.close(CLOSE_CODE.POLICY_VIOLATION, "no good");
  assert.equal((await until(states, "retrying")).retryInMs, 50);
  timers.fire();
  const second = await server.accepted.next();
  second.socket.send("an answer");
  second.socket.close(CLOSE_CODE.POLICY_VIOLATION, "no good");
  // The first socket did not reset the count (50, attempt 1); the second one did.
  assert.deepEqual(await until(states, "retrying"), {
    state: "retrying",
    attempt: 1,
    retryInMs: 50,
    closeCode: CLOSE_CODE.POLICY_VIOLATION,
  });
  timers.fire();
  await server.accepted.next();
  await stop(connection);
});

Deno.test("a socket the service refused does not reset the backoff, whatever its close code", async () => {
  await using server = startSocketServer();
  const { connection, timers, states } = connectionTo(server.url);
  connection.connect();
  (await server.accepted.next()).socket.close(4000, "dropped");
  assert.equal((await until(states, "retrying")).retryInMs, 50);
  timers.fire();
  await until(states, "open");
  connection.refused();
  (await server.accepted.next()).socket.close(4000, "refused");
  assert.equal((await until(states, "retrying")).retryInMs, 100);
  timers.fire();
  await server.accepted.next();
  await stop(connection);
});

Deno.test("reconnectNow skips the wait", async () => {
  await using server = startSocketServer();
  const { connection, timers, states } = connectionTo(server.url);
  connection.reconnectNow();
  assert.equal(connection.state, "idle", "nothing to skip before connect()");
  connection.connect();
  (await server.accepted.next()).socket.close(4000, "dropped");
  await until(states, "retrying");
  assert.deepEqual(timers.pending, [50]);
  connection.reconnectNow();
  assert.deepEqual(timers.pending, []);
  await until(states, "open");
  await server.accepted.next();
  await stop(connection);
});

Deno.test("stop closes the socket with 1000, cleans up before the closed event, and stays closed", async () => {
  await using server = startSocketServer();
  const { connection, timers, states, calls } = connectionTo(server.url);
  connection.connect();
  await until(states, "open");
  const accepted = await server.accepted.next();
  connection.stop(CLOSE_CODE.GOING_AWAY, () => calls.push(`clean-up while ${connection.state}`));
  assert.deepEqual(calls.slice(-2), ["clean-up while closed", "closed"]);
  assert.deepEqual(await until(states, "closed"), {
    state: "closed",
    attempt: 0,
    retryInMs: null,
    closeCode: CLOSE_CODE.GOING_AWAY,
  });
  const close = await accepted.closed;
  assert.equal(close.code, 1000);
  assert.equal(close.reason, "Client closed");
  await connection.closed;
  assert.deepEqual(timers.pending, [], "no attempt is scheduled after stop");
  assert.ok(!calls.includes("dropped while closed"), "a stopped socket's close is not a drop");
  connection.connect();
  assert.equal(connection.state, "closed");
});
