/**
 * Storage quotas on the socket (`QUOTA_*`): a message over its sender's daily quota or over what
 * may wait for one receiver is not stored, and the sender is told: a client with ids by 30007 or
 * 30008 naming the id, a seed client by that frame and then the close. Runs on one node and
 * (`deno task test:cluster`) across two, where the sender's sockets sit on different nodes.
 */
import assert from "node:assert/strict";
import {
  historyTexts,
  registerAndLogin,
  startTestServer,
  type TestServer,
} from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { waitForAsync } from "../support/wait.ts";
import { usernameKey } from "../../lib/users/username.ts";

const HOUR_MS = 3_600_000;
/** 23:00 UTC: an hour before the daily quotas start again. */
const LATE_EVENING = Date.UTC(2024, 4, 1, 23, 0, 0);

async function users(server: TestServer) {
  return {
    tom: await registerAndLogin(server, "Tom"),
    jack: await registerAndLogin(server, "Jack"),
  };
}

async function stored(sender: ChatClient, count: number, prefix: string): Promise<void> {
  for (let i = 1; i <= count; i++) sender.sendMessage(`${prefix} ${i}`, `${prefix}-${i}`);
  for (let i = 1; i <= count; i++) {
    assert.equal((await sender.expect(30010, `${prefix} ${i} stored`)).body.id, `${prefix}-${i}`);
  }
}

Deno.test("a seed client over the daily quota gets 30007 and the close; what came before is stored", async () => {
  await using server = await startTestServer({
    env: { QUOTA_DAILY_MESSAGES: "3" },
    clock: () => LATE_EVENING,
  });
  const { tom, jack } = await users(server);
  await using receiver = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await using sender = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await sender.expect(30098);
  for (const text of ["one", "two", "three", "four", "five"]) sender.sendMessage(text);
  assert.deepEqual(await sender.next(), {
    status: 30007,
    msg: "Daily quota exceeded",
    body: { quota: "messages", limit: 3, retry_after_ms: HOUR_MS },
  });
  const closed = await sender.closed();
  assert.equal(closed.code, 1008);
  assert.match(closed.reason, /^Daily quota of messages reached; messages before this close/);
  await receiver.expect(30098);
  for (const text of ["one", "two", "three"]) {
    assert.equal((await receiver.expect(30001)).body.msg, text);
  }
  assert.deepEqual(await historyTexts(server, jack, "Tom"), ["one", "two", "three"]);
});

Deno.test("the daily quota holds over two sockets of the sender; with ids the socket stays, until the next day", async () => {
  let now = LATE_EVENING;
  await using server = await startTestServer({
    env: { QUOTA_DAILY_MESSAGES: "3" },
    clock: () => now,
  });
  const { tom } = await users(server);
  // On the cluster backend the two sockets are on different nodes.
  await using first = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using second = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await stored(first, 2, "first");
  await stored(second, 1, "second");
  first.sendMessage("over", "over-1");
  assert.deepEqual(await first.next(), {
    status: 30007,
    msg: "Daily quota exceeded",
    body: { quota: "messages", limit: 3, retry_after_ms: HOUR_MS, id: "over-1" },
  });
  second.sendMessage("over too", "over-2");
  assert.equal((await second.expect(30007)).body.id, "over-2");
  // Not stored, and the sockets stay open: the next UTC day the same ids are stored.
  now += HOUR_MS;
  first.sendMessage("over", "over-1");
  assert.equal((await first.expect(30010)).body.id, "over-1");
  assert.deepEqual(await historyTexts(server, tom, "Jack"), [
    "first 1",
    "first 2",
    "second 1",
    "over",
  ]);
});

Deno.test("the daily byte quota counts UTF-8 bytes: 30007 names bytes", async () => {
  await using server = await startTestServer({
    env: { QUOTA_DAILY_BYTES: "20000" },
    clock: () => LATE_EVENING,
  });
  const { tom } = await users(server);
  await using sender = await ChatClient.connect(server.wsUrl, "Jack", tom);
  // 4096 emoji are 16384 bytes: one fits, a second does not; a short message still does.
  const emoji = "😀".repeat(4096);
  sender.sendMessage(emoji, "e1");
  await sender.expect(30010);
  sender.sendMessage(emoji, "e2");
  assert.deepEqual((await sender.expect(30007)).body, {
    quota: "bytes",
    limit: 20000,
    retry_after_ms: HOUR_MS,
    id: "e2",
  });
  sender.sendMessage("short", "s1");
  assert.equal((await sender.expect(30010)).body.id, "s1");
});

Deno.test("too many waiting for one receiver: 30008; once the receiver got them, more fit", async () => {
  await using server = await startTestServer({ env: { QUOTA_WAITING_MESSAGES: "2" } });
  const { tom, jack } = await users(server);
  await using sender = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await stored(sender, 2, "waiting");
  sender.sendMessage("third", "third");
  assert.deepEqual(await sender.next(), {
    status: 30008,
    msg: "Too many messages waiting",
    body: { limit: 2, id: "third" },
  });
  // Another receiver is another quota.
  await registerAndLogin(server, "Alice");
  await using toAlice = await ChatClient.connect(server.wsUrl, "Alice", tom);
  await stored(toAlice, 1, "alice");
  // Jack comes and gets the two; then the third fits.
  await using receiver = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await receiver.expect(30098);
  await sender.expect(30098);
  assert.equal((await receiver.expect(30001)).body.msg, "waiting 1");
  assert.equal((await receiver.expect(30001)).body.msg, "waiting 2");
  const [tomUser, jackUser] = await Promise.all(
    ["Tom", "Jack"].map((name) => server.repository.findUser(usernameKey(name))),
  );
  await waitForAsync(
    async () => await server.repository.waitingCount(jackUser!.id, tomUser!.id, 10) === 0,
    "the two to count as delivered",
  );
  sender.sendMessage("third", "third");
  assert.equal((await sender.expect(30010)).body.id, "third");
  assert.equal((await receiver.expect(30001)).body.msg, "third");
});

Deno.test("a seed client over the waiting quota gets 30008 and the close", async () => {
  await using server = await startTestServer({ env: { QUOTA_WAITING_MESSAGES: "2" } });
  const { tom, jack } = await users(server);
  await using sender = await ChatClient.connect(server.wsUrl, "Jack", tom);
  for (const text of ["a", "b", "c", "d"]) sender.sendMessage(text);
  assert.deepEqual(await sender.next(), {
    status: 30008,
    msg: "Too many messages waiting",
    body: { limit: 2 },
  });
  const closed = await sender.closed();
  assert.equal(closed.code, 1008);
  assert.match(closed.reason, /^Too many messages waiting for the receiver/);
  assert.deepEqual(await historyTexts(server, jack, "Tom"), ["a", "b"]);
});
