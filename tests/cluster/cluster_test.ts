/**
 * Real server processes (`main.ts`) on different ports sharing PostgreSQL and Redis: chat,
 * presence, offline delivery, logout across nodes, a node killed with -9, a node restarted.
 * Each test gets its own schema and key prefix, dropped at the end.
 */
import assert from "node:assert/strict";
import { api, login, registerAndLogin } from "../support/server.ts";
import { ChatClient, type Frame, withTimeout } from "../support/ws_client.ts";
import { spawnDeno } from "../support/process.ts";
import { type Node, ProcessCluster as Cluster } from "../support/process_cluster.ts";
import {
  dropSchema,
  freePort,
  servicesReachable,
  TEST_DATABASE_URL,
  testSchema,
} from "../support/services.ts";

const reachable = await servicesReachable(["postgres", "redis"], "the multi-process cluster tests");

/**
 * The presence TTL of the tests that kill a node, and the bound on the 30099 it implies. Not
 * shorter: on a loaded machine a live node must not miss its heartbeats for that long.
 */
const SHORT_TTL_MS = 3000;
const REAP_BOUND_MS = SHORT_TTL_MS + SHORT_TTL_MS / 3;
/** Slack for process scheduling on a loaded test machine. */
const SLACK_MS = 3000;

const login30098 = (name: string) => ({
  status: 30098,
  msg: `Target user ${name} login`,
  body: {},
});
const logout30099 = (name: string) => ({
  status: 30099,
  msg: `Target user ${name} logout`,
  body: {},
});

function clusterTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `cluster: ${name}`, ignore: !reachable, fn });
}

/** Sends a marker from `sender` and returns what `receiver` got before it. */
async function framesBefore(sender: ChatClient, receiver: ChatClient, marker: string) {
  sender.sendMessage(marker);
  const before: Frame[] = [];
  for (;;) {
    const frame = await receiver.next(`marker ${marker}`);
    if (frame.status === 30001 && frame.body.msg === marker) return before;
    before.push(frame);
  }
}

/** Registers Tom through node `a` and Jack through node `b`; returns their tokens. */
async function tomAndJack(a: Node, b: Node): Promise<{ tom: string; jack: string }> {
  return {
    tom: await registerAndLogin(a.server, "Tom"),
    jack: await registerAndLogin(b.server, "Jack"),
  };
}

/** Opens Tom's socket on `a` and Jack's on `b`, and takes the 30098 each gets. */
async function openPair(a: Node, b: Node, tom: string, jack: string) {
  const tomOnA = await ChatClient.connect(a.server.wsUrl, "Jack", tom);
  const jackOnB = await ChatClient.connect(b.server.wsUrl, "Tom", jack);
  assert.deepEqual(await tomOnA.next(), login30098("Jack"));
  assert.deepEqual(await jackOnB.next(), login30098("Tom"));
  return { tomOnA, jackOnB };
}

/** Closes the clients at the end of the scope (a no-op for those already closed). */
function closing(...clients: ChatClient[]): AsyncDisposable {
  return {
    [Symbol.asyncDispose]: async () => {
      await Promise.all(clients.map((client) => client.close()));
    },
  };
}

clusterTest("users on two nodes chat both ways, with presence and offline delivery", async () => {
  await using cluster = new Cluster();
  const [a, b] = await cluster.startMany(2);
  const { tom, jack } = await tomAndJack(a, b);

  const { tomOnA, jackOnB } = await openPair(a, b, tom, jack);
  await using _ = closing(tomOnA, jackOnB);

  tomOnA.sendMessage("Hello Jack", "t1");
  const ack = await tomOnA.expect(30010);
  const delivered = await jackOnB.expect(30001);
  assert.deepEqual(delivered.body, {
    msg: "Hello Jack",
    from_user: "Tom",
    send_time: ack.body.send_time,
    message_id: ack.body.message_id,
  });
  jackOnB.sendMessage("Hello Tom");
  assert.equal((await tomOnA.expect(30001)).body.msg, "Hello Tom");

  // A stream from one node arrives in order on the other.
  for (let i = 0; i < 100; i++) tomOnA.sendMessage(`n${i}`);
  for (let i = 0; i < 100; i++) assert.equal((await jackOnB.expect(30001)).body.msg, `n${i}`);

  await jackOnB.close();
  assert.deepEqual(await tomOnA.next(), logout30099("Jack"));
  // While Jack is away: stored, acknowledged, waiting.
  for (let i = 1; i <= 5; i++) tomOnA.sendMessage(`waiting ${i}`, `w${i}`);
  for (let i = 1; i <= 5; i++) await tomOnA.expect(30010);
  // Jack comes back on node A this time: waiting messages first, in order, then live ones.
  await using jackOnA = await ChatClient.connect(a.server.wsUrl, "Tom", jack);
  assert.deepEqual(await jackOnA.next(), login30098("Tom"));
  // Node B marks what it delivered a moment after writing it; a socket that opens on node A
  // within that moment may get the tail of the stream again (never twice on one socket). So
  // stream messages are skipped; the waiting ones must come first and in order.
  const waiting: string[] = [];
  while (waiting.length < 5) {
    const text = (await jackOnA.expect(30001)).body.msg as string;
    if (!/^n\d+$/.test(text)) waiting.push(text);
  }
  assert.deepEqual(waiting, [1, 2, 3, 4, 5].map((i) => `waiting ${i}`));
  assert.deepEqual(await tomOnA.next(), login30098("Jack"));
  assert.deepEqual(await framesBefore(tomOnA, jackOnA, "live again"), []);
  // The history is the same whichever node answers.
  const fromA = await api(a.server, "GET", "/v1/chat/Jack/messages?limit=200", { token: tom });
  const fromB = await api(b.server, "GET", "/v1/chat/Jack/messages?limit=200", { token: tom });
  assert.deepEqual(fromA.json, fromB.json);
  assert.equal((fromA.json.body.messages as unknown[]).length, 2 + 100 + 5 + 1);
});

clusterTest("presence counts connections across three nodes", async () => {
  await using cluster = new Cluster();
  const [a, b, c] = await cluster.startMany(3);
  const tom = await registerAndLogin(a.server, "Tom");
  const jack = await registerAndLogin(c.server, "Jack");

  await using jackOnC = await ChatClient.connect(c.server.wsUrl, "Tom", jack);
  const tomOnA = await ChatClient.connect(a.server.wsUrl, "Jack", tom);
  assert.deepEqual(await jackOnC.next(), login30098("Tom"));
  assert.deepEqual(await tomOnA.next(), login30098("Jack"));
  // Tom's second connection, on another node: only its own 30098.
  const tomOnB = await ChatClient.connect(b.server.wsUrl, "Jack", tom);
  assert.deepEqual(await tomOnB.next(), login30098("Jack"));
  assert.deepEqual(await framesBefore(tomOnB, jackOnC, "two connections"), []);
  // Closing one of them: Tom is still online through the other.
  await tomOnA.close();
  assert.deepEqual(await framesBefore(tomOnB, jackOnC, "one left"), []);
  // A second connection of Jack on node A: told Tom is online, and Tom hears nothing new.
  await using jackOnA = await ChatClient.connect(a.server.wsUrl, "Tom", jack);
  assert.deepEqual(await jackOnA.next(), login30098("Tom"));
  assert.deepEqual(await framesBefore(jackOnC, tomOnB, "jack twice"), []);
  // Closing the last: every Jack connection, on both nodes, gets 30099.
  await tomOnB.close();
  assert.deepEqual(await jackOnC.next(), logout30099("Tom"));
  // "one left" reached Jack's socket on C a moment before this one opened; that delivery's mark
  // is written asynchronously on C, so this socket may still find it waiting and get it too.
  const notMessage = (frame: Frame) => frame.status !== 30001;
  assert.deepEqual(await jackOnA.nextMatching(notMessage, "30099"), logout30099("Tom"));
});

clusterTest("logout on one node closes that token's sockets on every node", async () => {
  await using cluster = new Cluster();
  const [a, b, c] = await cluster.startMany(3);
  const revoked = await registerAndLogin(a.server, "Tom");
  const kept = await login(b.server, "Tom");
  const jack = await registerAndLogin(c.server, "Jack");
  await using jackOnC = await ChatClient.connect(c.server.wsUrl, "Tom", jack);
  await using tomOnA = await ChatClient.connect(a.server.wsUrl, "Jack", revoked);
  await using tomOnB = await ChatClient.connect(b.server.wsUrl, "Jack", revoked);
  await using tomKept = await ChatClient.connect(c.server.wsUrl, "Jack", kept);
  for (const client of [tomOnA, tomOnB, tomKept, jackOnC]) await client.expect(30098);

  const logout = await api(c.server, "DELETE", "/v1/user/token", { token: revoked });
  assert.equal(logout.httpStatus, 200);
  for (const client of [tomOnA, tomOnB]) {
    assert.deepEqual(await client.next(), {
      status: 30002,
      msg: "Token authentication failed",
      body: {},
    });
    assert.equal((await client.closed()).code, 1008);
  }
  // Tom is still online through the other token: no 30099, and that socket still chats.
  assert.deepEqual(await framesBefore(tomKept, jackOnC, "still here"), []);
  await tomKept.close();
  assert.deepEqual(await jackOnC.next(), logout30099("Tom"));
});

clusterTest(
  "a node killed with -9: its users' peers get 30099 within the bound, nothing acknowledged is lost",
  async () => {
    await using cluster = new Cluster({ PRESENCE_TTL: `${SHORT_TTL_MS}ms` });
    const [a, b] = await cluster.startMany(2);
    const { tom, jack } = await tomAndJack(a, b);
    const { tomOnA, jackOnB } = await openPair(a, b, tom, jack);
    await using _ = closing(tomOnA, jackOnB);
    // Acknowledged on node A, then node A dies.
    for (let i = 1; i <= 10; i++) tomOnA.sendMessage(`before the crash ${i}`, `c${i}`);
    const acks: Frame[] = [];
    for (let i = 1; i <= 10; i++) acks.push(await tomOnA.expect(30010));
    const killedAt = Date.now();
    a.child.child.kill("SIGKILL");
    await a.child.status;
    const logout = await withTimeout(
      jackOnB.nextMatching((f) => f.status === 30099, "30099 after the kill"),
      "30099 after the kill",
      REAP_BOUND_MS + SLACK_MS,
    );
    const took = Date.now() - killedAt;
    assert.deepEqual(logout, logout30099("Tom"));
    assert.ok(took <= REAP_BOUND_MS + SLACK_MS, `30099 came ${took} ms after the kill`);
    await tomOnA.closed();
    // Every acknowledged message reached Jack, once each, live.
    const received = jackOnB.frames.filter((f) => f.status === 30001).map((f) => f.body.message_id);
    assert.deepEqual(received, acks.map((ack) => ack.body.message_id));

    // Tom reconnects to the surviving node: presence again, a resent id is the same message.
    await using tomOnB = await ChatClient.connect(b.server.wsUrl, "Jack", tom);
    assert.deepEqual(await tomOnB.next(), login30098("Jack"));
    assert.deepEqual(await jackOnB.next(), login30098("Tom"));
    tomOnB.sendMessage("before the crash 10", "c10");
    assert.deepEqual(await tomOnB.expect(30010), acks[9]);
    assert.deepEqual(await framesBefore(tomOnB, jackOnB, "after the crash"), []);
  },
);

clusterTest(
  "messages stored on a node that is then killed wait for the peer on another node",
  async () => {
    await using cluster = new Cluster({ PRESENCE_TTL: `${SHORT_TTL_MS}ms` });
    const [a, b] = await cluster.startMany(2);
    const { tom, jack } = await tomAndJack(a, b);
    const tomOnA = await ChatClient.connect(a.server.wsUrl, "Jack", tom);
    for (let i = 1; i <= 20; i++) tomOnA.sendMessage(`offline ${i}`, `o${i}`);
    for (let i = 1; i <= 20; i++) await tomOnA.expect(30010);
    a.child.child.kill("SIGKILL");
    await a.child.status;
    await tomOnA.closed();
    await using jackOnB = await ChatClient.connect(b.server.wsUrl, "Tom", jack);
    // Until the dead node's presence expires Tom still counts as online: 30098, then 30099.
    const first = await jackOnB.next();
    const tomLooksOnline = first.status === 30098;
    const messages = tomLooksOnline ? [] : [first];
    while (messages.length < 20) messages.push(await jackOnB.expect(30001));
    assert.deepEqual(
      messages.map((frame) => frame.body.msg),
      Array.from({ length: 20 }, (_, i) => `offline ${i + 1}`),
    );
    if (tomLooksOnline) {
      assert.deepEqual(
        await withTimeout(jackOnB.next(), "30099 for the dead node", REAP_BOUND_MS + SLACK_MS),
        logout30099("Tom"),
      );
    }
  },
);

clusterTest("a restarted node says goodbye, comes back, and chats on the same data", async () => {
  await using cluster = new Cluster();
  const [a, b] = await cluster.startMany(2);
  const { tom, jack } = await tomAndJack(a, b);
  const { tomOnA, jackOnB } = await openPair(a, b, tom, jack);
  await using _ = closing(tomOnA, jackOnB);
  tomOnA.sendMessage("first life");
  assert.equal((await jackOnB.expect(30001)).body.msg, "first life");

  // SIGTERM: sockets close with 1001 and the peers hear 30099 at once, not after the TTL.
  assert.equal((await a.child.stop()).code, 0, a.child.output);
  assert.equal((await tomOnA.closed()).code, 1001);
  assert.deepEqual(await jackOnB.next(), logout30099("Tom"));

  const again = await cluster.start();
  // The old token works on the new process; Tom is back.
  await using tomAgain = await ChatClient.connect(again.server.wsUrl, "Jack", tom);
  assert.deepEqual(await tomAgain.next(), login30098("Jack"));
  assert.deepEqual(await jackOnB.next(), login30098("Tom"));
  assert.deepEqual(await framesBefore(tomAgain, jackOnB, "second life"), []);
  jackOnB.sendMessage("welcome back");
  assert.equal((await tomAgain.expect(30001)).body.msg, "welcome back");
  const history = await api(again.server, "GET", "/v1/chat/Jack/messages", { token: tom });
  assert.deepEqual(
    (history.json.body.messages as { msg: string }[]).map((m) => m.msg),
    ["welcome back", "second life", "first life"],
  );
});

clusterTest("every node answers /healthz and /readyz, and logs its database and hub", async () => {
  await using cluster = new Cluster();
  const nodes = await cluster.startMany(2);
  for (const node of nodes) {
    assert.equal((await api(node.server, "GET", "/healthz")).httpStatus, 200);
    const ready = await api(node.server, "GET", "/readyz");
    assert.equal(ready.httpStatus, 200);
    assert.deepEqual(ready.json.body, { database: "up", hub: "up" });
    assert.equal(node.server.database, TEST_DATABASE_URL);
    await node.child.waitForLine(/ info database engine=postgresql /, "the database line");
    await node.child.waitForLine(/ info hub engine=redis .* node=\w+ /, "the hub line");
  }
});

clusterTest(
  "a bad DATABASE_URL or an unreachable Redis stops start-up naming the setting",
  async () => {
    const port = freePort();
    await using noDatabase = spawnDeno({
      env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test` },
    });
    assert.equal((await noDatabase.finished()).code, 1, noDatabase.output);
    assert.match(noDatabase.stderr.join("\n"), /DATABASE_URL=postgres:\/\/postgres@127\.0\.0\.1/);
    const schema = testSchema();
    try {
      await using noRedis = spawnDeno({
        env: {
          DATABASE_URL: TEST_DATABASE_URL,
          DATABASE_SCHEMA: schema,
          REDIS_URL: `redis://127.0.0.1:${port}`,
        },
      });
      assert.equal((await noRedis.finished()).code, 1, noRedis.output);
      assert.match(noRedis.stderr.join("\n"), /REDIS_URL=redis:\/\/127\.0\.0\.1/);
    } finally {
      await dropSchema(schema);
    }
  },
);
