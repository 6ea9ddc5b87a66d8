/**
 * Webhooks against a real server and the test app's receiver: `message.waiting` exactly when
 * the receiver has no socket on the pair, `message.created`, `user.online`/`user.offline`,
 * signed; the app's downtime loses nothing and keeps each user's order; a failing receiver is
 * retried until `WEBHOOK_MAX_AGE`, then the event is recorded as failed; a hanging one does not
 * slow chat. On the cluster backend, each event reaches the app once.
 */
import assert from "node:assert/strict";
import { ApiKeys } from "../../lib/admin/api_keys.ts";
import type { LogFields, Logger } from "../../lib/log.ts";
import {
  api,
  CLUSTER_TEST_NODES,
  registerAndLogin,
  startTestServer,
  TEST_BACKEND,
  type TestServer,
} from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { type ReceivedEvent, WebhookReceiver } from "../support/webhook_receiver.ts";
import { waitForAsync } from "../support/wait.ts";

const SECRET = "test-webhook-secret-0123456789";

async function startWith(
  receiver: WebhookReceiver,
  env: Record<string, string> = {},
  log?: Logger,
) {
  return await startTestServer({
    env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, ...env },
    log,
  });
}

async function sendAsAdmin(server: TestServer, key: string, from: string, to: string, msg: string) {
  const answer = await api(server, "POST", "/v1/admin/messages", {
    body: { from, to, msg },
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(answer.httpStatus, 201, JSON.stringify(answer.json));
  return answer.json.body.message_id as number;
}

/** A counter summed over the nodes (one, or each node of the cluster backend in turn). */
async function metric(server: TestServer, name: string): Promise<number> {
  let sum = 0;
  for (let node = 0; node < (TEST_BACKEND === "cluster" ? CLUSTER_TEST_NODES : 1); node++) {
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    const line = text.split("\n").find((each) => each.startsWith(`${name} `));
    sum += line === undefined ? NaN : Number(line.split(" ")[1]);
  }
  return sum;
}

const ofType = (type: string) => (events: readonly ReceivedEvent[]) =>
  events.filter((event) => event.type === type);

Deno.test("message.waiting comes for a receiver without a socket on the pair, signed", async () => {
  await using receiver = new WebhookReceiver(SECRET);
  await receiver.reservePort();
  await receiver.start();
  await using server = await startWith(receiver, {
    WEBHOOK_EVENTS: "message.waiting,message.created",
  });
  const tomToken = await registerAndLogin(server, "Tom");
  const jackToken = await registerAndLogin(server, "Jack");
  await registerAndLogin(server, "Alice");
  await using tom = await ChatClient.connect(server.wsUrl, "jack", tomToken);
  // Jack is online, but not on the pair with Tom: the message waits for him.
  await using _jackWithAlice = await ChatClient.connect(server.wsUrl, "alice", jackToken);
  tom.sendMessage("are you there?", "m-1");
  const stored = await tom.nextMatching((frame) => frame.status === 30010, "stored");
  await receiver.waitFor((events) => ofType("message.waiting")(events).length === 1, "waiting");
  const [waiting] = ofType("message.waiting")(receiver.events);
  assert.deepEqual(waiting.data, {
    message_id: stored.body.message_id,
    from_user: "Tom",
    to_user: "Jack",
    msg: "are you there?",
    send_time: stored.body.send_time,
  });
  assert.match(waiting.id, /^[0-9a-f-]{36}$/);
  assert.ok(Math.abs(Date.parse(waiting.created_at) - Date.now()) < 60_000, waiting.created_at);

  // Jack opens the pair: the next message is created but not waiting.
  await using jack = await ChatClient.connect(server.wsUrl, "tom", jackToken);
  await jack.nextMatching((frame) => frame.status === 30001, "the waiting message");
  tom.sendMessage("hello", "m-2");
  await jack.nextMatching((frame) => frame.status === 30001, "live message");
  await receiver.waitFor((events) => ofType("message.created")(events).length === 2, "created");
  assert.equal(ofType("message.waiting")(receiver.events).length, 1);
  assert.equal(receiver.duplicates, 0);
  assert.ok(receiver.requests.every((request) => request.status === 204));
});

Deno.test("user.online and user.offline follow a user's first and last socket", async () => {
  await using receiver = new WebhookReceiver(SECRET);
  await receiver.reservePort();
  await receiver.start();
  await using server = await startWith(receiver, { WEBHOOK_EVENTS: "user.online,user.offline" });
  const tomToken = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jack");
  const first = await ChatClient.connect(server.wsUrl, "jack", tomToken);
  const second = await ChatClient.connect(server.wsUrl, "tom", tomToken);
  await receiver.waitFor((events) => events.length === 1, "online");
  await first.close();
  await second.close();
  await receiver.waitFor((events) => events.length === 2, "offline");
  assert.deepEqual(receiver.events.map((event) => [event.type, event.data.username]), [
    ["user.online", "Tom"],
    ["user.offline", "Tom"],
  ]);
  assert.equal(receiver.events[1].data.online, false);
  assert.match(receiver.events[1].data.last_seen as string, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});

Deno.test("the app's downtime loses no event and keeps each user's order", async () => {
  await using receiver = new WebhookReceiver(SECRET);
  await receiver.reservePort(); // Down until started.
  await using server = await startWith(receiver, { WEBHOOK_EVENTS: "message.waiting" });
  const key = (await new ApiKeys(server.repository, Date.now).add("app") as { key: string }).key;
  for (const name of ["Tom", "Jack", "Alice"]) await registerAndLogin(server, name);
  const ids: number[] = [];
  for (let i = 1; i <= 5; i++) {
    ids.push(await sendAsAdmin(server, key, "Tom", "Jack", `to jack ${i}`));
  }
  const toAlice = await sendAsAdmin(server, key, "Tom", "Alice", "to alice");
  await waitForAsync(
    async () => await metric(server, "chat_webhook_events_retried_total") >= 1,
    "a failed attempt while the app is down",
    10_000,
  );
  await receiver.start();
  await receiver.waitFor((events) => events.length === 6, "every event after the downtime");
  const forJack = receiver.events.filter((event) => event.data.to_user === "Jack");
  assert.deepEqual(forJack.map((event) => event.data.message_id), ids, "Jack's in order");
  assert.ok(receiver.events.some((event) => event.data.message_id === toAlice));
  assert.equal(receiver.duplicates, 0);
});

Deno.test("a failing receiver is retried until WEBHOOK_MAX_AGE, then the event is failed", async () => {
  await using receiver = new WebhookReceiver(SECRET);
  await receiver.reservePort();
  await receiver.start();
  receiver.mode = "fail";
  const lines: { event: string; fields: LogFields }[] = [];
  const keep = (event: string, fields: LogFields = {}) => lines.push({ event, fields });
  await using server = await startWith(
    receiver,
    { WEBHOOK_EVENTS: "message.waiting", WEBHOOK_MAX_AGE: "2s" },
    { info: keep, warn: keep, error: keep },
  );
  const key = (await new ApiKeys(server.repository, Date.now).add("app") as { key: string }).key;
  await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jack");
  await sendAsAdmin(server, key, "Tom", "Jack", "never arrives");
  await waitForAsync(
    async () => await metric(server, "chat_webhook_events_failed_total") === 1,
    "the event recorded as failed",
    15_000,
  );
  assert.ok(receiver.requests.length >= 2, "retried before giving up");
  assert.ok(await metric(server, "chat_webhook_events_retried_total") >= 1);
  const failed = lines.find((line) => line.event === "webhook.failed");
  assert.equal(failed?.fields.type, "message.waiting");
  assert.equal(failed?.fields.error, "HTTP 500");
  // A failed event no longer holds Jack's queue.
  receiver.mode = "ok";
  await sendAsAdmin(server, key, "Tom", "Jack", "this one arrives");
  await receiver.waitFor((events) => events.length === 1, "the next event");
  assert.equal(receiver.events[0].data.msg, "this one arrives");
});

Deno.test("a hanging receiver does not slow chat", async () => {
  await using receiver = new WebhookReceiver(SECRET);
  await receiver.reservePort();
  await receiver.start();
  receiver.mode = "hang";
  await using server = await startWith(receiver, { WEBHOOK_TIMEOUT: "30s" });
  const tomToken = await registerAndLogin(server, "Tom");
  const jackToken = await registerAndLogin(server, "Jack");
  await using tom = await ChatClient.connect(server.wsUrl, "jack", tomToken);
  await using jack = await ChatClient.connect(server.wsUrl, "tom", jackToken);
  // The app holds every webhook request for up to 30 s; chat does not wait for it.
  for (let i = 0; i < 20; i++) tom.sendMessage(`m${i}`);
  for (let i = 0; i < 20; i++) {
    const frame = await jack.nextMatching((each) => each.status === 30001, `message ${i}`);
    assert.equal(frame.body.msg, `m${i}`);
  }
  assert.equal(receiver.events.length, 0, "the app answered nothing");
});
