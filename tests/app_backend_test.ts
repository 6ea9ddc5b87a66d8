/**
 * Issue 13 end to end, as a team embedding the chat would run it: `main.ts` as a process, the
 * test app backend beside it. The app's key comes from `deno task key add`; its users sign in
 * with its JWTs and get system messages through the admin API; the app learns of every message
 * that waits for an offline user through a signed `message.waiting`, across its own downtime and
 * the chat service's SIGKILL; and it erases a user.
 */
import assert from "node:assert/strict";
import { type Listening, spawnDeno, tempDir } from "./support/process.ts";
import { AppBackend, appChatToken } from "./support/app_backend.ts";
import { WebhookReceiver } from "./support/webhook_receiver.ts";
import { ChatClient } from "./support/ws_client.ts";

const SECRET = "app-webhook-secret-0123456789";

function adminCall(server: Listening, key: string, method: string, path: string, body?: unknown) {
  return fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (response) => ({ status: response.status, json: await response.json() }));
}

Deno.test("deno task key add prints the key alone on its last line; list and revoke", async () => {
  await using dir = await tempDir();
  const env = { DB_PATH: `${dir.path}/chat.db` };
  const add = spawnDeno({ args: ["key", "add", "app"], env });
  assert.equal((await add.finished()).code, 0, add.output);
  const key = add.stdout.at(-1)!;
  assert.match(key, /^chatk_[\w-]{43}$/);
  assert.equal(add.stdout.filter((line) => line.includes(key)).length, 1, "printed once");
  const again = spawnDeno({ args: ["key", "add", "app"], env });
  assert.equal((await again.finished()).code, 1);
  const list = spawnDeno({ args: ["key", "list"], env });
  assert.equal((await list.finished()).code, 0);
  assert.match(list.output, /^app\tcreated \d{4}-/m);
  assert.ok(!list.output.includes(key), "the key is never shown again");
  const revoke = spawnDeno({ args: ["key", "revoke", "app"], env });
  assert.equal((await revoke.finished()).code, 0, revoke.output);
  const gone = spawnDeno({ args: ["key", "revoke", "app"], env });
  assert.equal((await gone.finished()).code, 1);
  const usage = spawnDeno({ args: ["key", "rotate"], env });
  assert.equal((await usage.finished()).code, 2);
});

Deno.test("an app backend: JWT sign-in, admin API, message.waiting across its downtime and a SIGKILL, erasure", async () => {
  await using dir = await tempDir();
  await using app = await AppBackend.start();
  await using receiver = new WebhookReceiver(SECRET);
  await receiver.reservePort(); // The app's webhook endpoint is down for now.
  const env = {
    DB_PATH: `${dir.path}/chat.db`,
    JWT_JWKS_URL: app.jwksUrl,
    WEBHOOK_URL: receiver.url,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_EVENTS: "message.waiting",
    // A claim cut short by the SIGKILL holds its event for this + 5 s.
    WEBHOOK_TIMEOUT: "1s",
  };
  const add = spawnDeno({ args: ["key", "add", "app-backend"], env });
  assert.equal((await add.finished()).code, 0, add.output);
  const key = add.stdout.at(-1)!;

  const expected: number[] = [];
  {
    await using chat = spawnDeno({ env });
    const server = await chat.listening();
    assert.equal((await adminCall(server, key, "PUT", "/v1/admin/users/Jack")).status, 201);
    // Tom signs in with the app's ES256 JWT; Jack stays offline.
    const tomJwt = await appChatToken(app, "Tom", "ES256");
    const tom = await ChatClient.connect(server.wsUrl, "jack", tomJwt);
    for (let i = 1; i <= 3; i++) {
      tom.sendMessage(`from Tom ${i}`, `t-${i}`);
      const stored = await tom.nextMatching((frame) => frame.status === 30010, `stored ${i}`);
      expected.push(stored.body.message_id as number);
    }
    const system = await adminCall(server, key, "POST", "/v1/admin/messages", {
      from: "Tom",
      to: "Jack",
      msg: "Tom sent you a file",
      id: "sys-1",
    });
    assert.equal(system.status, 201);
    expected.push(system.json.body.message_id);
    // Stored, not yet sent (the app is down): killed now.
    chat.child.kill("SIGKILL");
    assert.equal((await chat.finished()).signal, "SIGKILL");
    await tom.closed();
  }
  assert.equal(receiver.events.length, 0);
  await receiver.start();
  {
    await using chat = spawnDeno({ env });
    const server = await chat.listening();
    // Retries back off (1 s, 2 s, 4 s… from the attempts made while the app was down).
    await receiver.waitFor(
      (events) => events.length === expected.length,
      "every waiting event",
      60_000,
    );
    assert.deepEqual(
      receiver.events.map((event) => event.type),
      expected.map(() => "message.waiting"),
    );
    assert.deepEqual(receiver.events.map((event) => event.data.message_id), expected);
    assert.ok(receiver.events.every((event) => event.data.to_user === "Jack"));

    // Jack gets a token from the app's backend, reads his messages; then the app erases Tom.
    const issued = await adminCall(server, key, "POST", "/v1/admin/users/jack/tokens", {
      ttl: "1h",
    });
    assert.equal(issued.status, 201);
    const jack = await ChatClient.connect(server.wsUrl, "tom", issued.json.body.token);
    const got = [];
    for (let i = 0; i < expected.length; i++) {
      got.push((await jack.nextMatching((frame) => frame.status === 30001, `waiting ${i}`)).body);
    }
    assert.deepEqual(got.map((body) => body.message_id), expected);
    const erased = await adminCall(server, key, "DELETE", "/v1/admin/users/Tom");
    assert.deepEqual(erased.json.body, { username: "Tom", messages_deleted: 4 });
    assert.equal((await jack.nextMatching((f) => f.status === 30003, "Tom gone")).status, 30003);
    await jack.closed();
    assert.equal((await adminCall(server, key, "GET", "/v1/admin/users/tom")).status, 404);
    assert.equal((await chat.stop("SIGTERM")).code, 0, chat.output);
  }
  assert.equal(receiver.duplicates, 0);
});
