/** The user API over a real server: register, log in, log out, and what tokens open and close. */
import assert from "node:assert/strict";
import { api, login, registerAndLogin, startTestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { formatLocalTime } from "../../lib/time.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const TOKEN_FAILED_FRAME = '{"status":30002,"msg":"Token authentication failed","body":{}}';
const HOUR_MS = 3_600_000;

/** A hand-moved clock: tests set `now` and the server sees it. */
function manualClock(start: number) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

/** Waits until the server has joined `client` to its pair: an acked message proves it. */
async function ready(client: ChatClient, id: string): Promise<void> {
  client.sendMessage(`ready ${id}`, id);
  await client.nextMatching((f) => f.status === 30010 && f.body.id === id, `ack of ${id}`);
}

/** Sends `{username, password, ...}` to POST /v1/user. */
function register(server: { baseUrl: string }, body: unknown) {
  return api(server, "POST", "/v1/user", { body });
}

/** Asserts a 400 / 10003 response naming `field`, with a reason matching `reason`. */
function assertInvalid(
  response: Awaited<ReturnType<typeof api>>,
  field: string,
  reason: RegExp,
): void {
  assert.equal(response.httpStatus, 400, JSON.stringify(response.json));
  assert.equal(response.json.status, 10003);
  assert.equal(response.json.body.field, field);
  assert.equal(typeof response.json.body.reason, "string");
  assert.match(response.json.body.reason as string, reason);
  assert.match(response.json.msg, new RegExp(field));
}

// --- POST /v1/user ---

Deno.test("registration answers 201 with the seed's envelope in status, msg, body order", async () => {
  await using server = await startTestServer();
  const response = await fetch(`${server.baseUrl}/v1/user`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "Tom", password: "password123" }),
  });
  assert.equal(response.status, 201);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(
    await response.text(),
    '{"status":10001,"msg":"Registration success","body":{"username":"Tom"}}',
  );
});

Deno.test("registration returns the registered spelling, NFKC-normalised", async () => {
  await using server = await startTestServer();
  const mixed = await register(server, { username: "McDonald_1", password: "password123" });
  assert.equal(mixed.httpStatus, 201);
  assert.equal(mixed.json.body.username, "McDonald_1");
  const fullwidth = await register(server, { username: "Ｊｅｒｒｙ", password: "password123" });
  assert.equal(fullwidth.httpStatus, 201);
  assert.equal(fullwidth.json.body.username, "Jerry");
});

Deno.test("registration accepts an email address", async () => {
  await using server = await startTestServer();
  const response = await register(server, {
    username: "Tom",
    password: "password123",
    email: "tom@example.com",
  });
  assert.equal(response.httpStatus, 201);
  assert.equal(response.json.status, 10001);
});

Deno.test("a taken name is refused with 409 / 10002, also in another case or NFKC spelling", async () => {
  await using server = await startTestServer();
  assert.equal(
    (await register(server, { username: "Tom", password: "password123" })).httpStatus,
    201,
  );
  for (const username of ["Tom", "tom", "TOM", "Ｔｏｍ", "ｔｏｍ"]) {
    const response = await register(server, { username, password: "different-pass" });
    assert.equal(response.httpStatus, 409, username);
    assert.equal(response.json.status, 10002, username);
    assert.equal(response.json.body.field, "username");
  }
  // The first registration still owns the name: its password logs in, the others' do not.
  assert.equal(
    (await api(server, "POST", "/v1/user/token", {
      body: { username: "Tom", password: "different-pass" },
    })).httpStatus,
    401,
  );
  assert.match(await login(server, "Tom"), UUID_V4);
});

Deno.test("registration names the field and the reason of invalid input with 400 / 10003", async () => {
  await using server = await startTestServer();
  const good = { username: "Tom", password: "password123" };
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ["missing username", { password: "password123" }, "username", /required/],
    ["username not a string", { ...good, username: 42 }, "username", /string/],
    ["username null", { ...good, username: null }, "username", /required/],
    ["empty username", { ...good, username: "" }, "username", /1 to 32/],
    ["33-character username", { ...good, username: "a".repeat(33) }, "username", /1 to 32/],
    ["username with a space", { ...good, username: "a b" }, "username", /letters/],
    ["username with a slash", { ...good, username: "a/b" }, "username", /letters/],
    ["username of dots only", { ...good, username: ".." }, "username", /letters/],
    ["missing password", { username: "Tom" }, "password", /required/],
    ["7-character password", { ...good, password: "a".repeat(7) }, "password", /8 to 128/],
    ["129-character password", { ...good, password: "a".repeat(129) }, "password", /8 to 128/],
    ["password not a string", { ...good, password: 12345678 }, "password", /string/],
    ["bad email", { ...good, email: "not-an-email" }, "email", /email/],
    ["email with a space", { ...good, email: "tom @example.com" }, "email", /email/],
    ["email not a string", { ...good, email: 42 }, "email", /string/],
  ];
  for (const [what, body, field, reason] of cases) {
    const response = await register(server, body);
    try {
      assertInvalid(response, field, reason);
    } catch (error) {
      throw new Error(`${what}: ${(error as Error).message}`);
    }
  }
  // None of them created the user.
  assert.equal((await register(server, good)).httpStatus, 201);
});

Deno.test("usernames of 32 characters and passwords of 8 and 128 characters are accepted", async () => {
  await using server = await startTestServer();
  const longName = "a".repeat(32);
  const long = await register(server, { username: longName, password: "p".repeat(128) });
  assert.equal(long.httpStatus, 201);
  assert.equal(long.json.body.username, longName);
  assert.equal(
    (await register(server, { username: "b", password: "p".repeat(8) })).httpStatus,
    201,
  );
  assert.match(await login(server, longName, "p".repeat(128)), UUID_V4);
  assert.match(await login(server, "b", "p".repeat(8)), UUID_V4);
});

Deno.test("a Chinese username registers and logs in", async () => {
  await using server = await startTestServer();
  const response = await register(server, { username: "张三", password: "password123" });
  assert.equal(response.httpStatus, 201);
  assert.equal(response.json.body.username, "张三");
  assert.match(await login(server, "张三"), UUID_V4);
});

// --- POST /v1/user/token ---

Deno.test("login answers 201 with a UUID v4 token and an expire of now + TOKEN_TTL", async () => {
  const clock = manualClock(new Date(2024, 4, 17, 9, 30, 15).getTime());
  await using server = await startTestServer({ clock: clock.read, env: { TOKEN_TTL: "1h" } });
  await register(server, { username: "Tom", password: "password123" });
  const response = await api(server, "POST", "/v1/user/token", {
    body: { username: "Tom", password: "password123" },
  });
  assert.equal(response.httpStatus, 201);
  assert.equal(response.json.status, 10001);
  assert.equal(response.json.msg, "Login success");
  assert.deepEqual(Object.keys(response.json.body).sort(), ["device", "expire", "token"]);
  assert.match(response.json.body.token as string, UUID_V4);
  assert.match(response.json.body.expire as string, LOCAL_TIME);
  assert.equal(response.json.body.expire, formatLocalTime(clock.now + HOUR_MS));
  assert.equal(response.json.body.expire, "2024-05-17 10:30:15");
});

Deno.test("every login issues a different token", async () => {
  await using server = await startTestServer();
  const first = await registerAndLogin(server, "Tom");
  const second = await login(server, "Tom");
  assert.notEqual(first, second);
});

Deno.test("login matches the name case-insensitively and NFKC-normalised", async () => {
  await using server = await startTestServer();
  await register(server, { username: "Tom", password: "password123" });
  for (const username of ["tom", "TOM", "Ｔｏｍ"]) {
    const response = await api(server, "POST", "/v1/user/token", {
      body: { username, password: "password123" },
    });
    assert.equal(response.httpStatus, 201, username);
    assert.match(response.json.body.token as string, UUID_V4);
  }
});

Deno.test("a wrong password and an unknown user both get 401 / 10005 with the same answer", async () => {
  await using server = await startTestServer();
  await register(server, { username: "Tom", password: "password123" });
  const wrongPassword = await api(server, "POST", "/v1/user/token", {
    body: { username: "Tom", password: "password124" },
  });
  const unknownUser = await api(server, "POST", "/v1/user/token", {
    body: { username: "Nobody", password: "password123" },
  });
  assert.equal(wrongPassword.httpStatus, 401);
  assert.equal(unknownUser.httpStatus, 401);
  assert.equal(wrongPassword.json.status, 10005);
  assert.deepEqual(unknownUser.json, wrongPassword.json);
});

Deno.test("login with a name or password that is not a string is a 400 naming the field", async () => {
  await using server = await startTestServer();
  assertInvalid(
    await api(server, "POST", "/v1/user/token", { body: { password: "password123" } }),
    "username",
    /string/,
  );
  assertInvalid(
    await api(server, "POST", "/v1/user/token", { body: { username: "Tom", password: 1 } }),
    "password",
    /string/,
  );
});

// --- DELETE /v1/user/token ---

Deno.test("logout answers 200 / 10001 and the token stops working", async () => {
  await using server = await startTestServer();
  const token = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jerry");
  assert.equal(
    (await api(server, "GET", "/v1/chat/Jerry/messages", { token })).httpStatus,
    200,
  );
  const response = await fetch(`${server.baseUrl}/v1/user/token`, {
    method: "DELETE",
    headers: { authorization: `Token ${token}` },
  });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), '{"status":10001,"msg":"Logout success","body":{}}');

  const history = await api(server, "GET", "/v1/chat/Jerry/messages", { token });
  assert.equal(history.httpStatus, 401);
  assert.equal(history.json.status, 10004);
  const again = await api(server, "DELETE", "/v1/user/token", { token });
  assert.equal(again.httpStatus, 401);
  assert.equal(again.json.status, 10004);
});

Deno.test("logout revokes only its own token, not the user's other tokens", async () => {
  await using server = await startTestServer();
  const first = await registerAndLogin(server, "Tom");
  const second = await login(server, "Tom");
  await registerAndLogin(server, "Jerry");
  assert.equal((await api(server, "DELETE", "/v1/user/token", { token: first })).httpStatus, 200);
  assert.equal(
    (await api(server, "GET", "/v1/chat/Jerry/messages", { token: first })).httpStatus,
    401,
  );
  assert.equal(
    (await api(server, "GET", "/v1/chat/Jerry/messages", { token: second })).httpStatus,
    200,
  );
});

Deno.test("logout without a token, or with an unknown one, is 401 / 10004", async () => {
  await using server = await startTestServer();
  await registerAndLogin(server, "Tom");
  const missing = await api(server, "DELETE", "/v1/user/token");
  assert.equal(missing.httpStatus, 401);
  assert.equal(missing.json.status, 10004);
  assert.equal(missing.json.msg, "Token authentication failed");
  const unknown = await api(server, "DELETE", "/v1/user/token", { token: crypto.randomUUID() });
  assert.equal(unknown.httpStatus, 401);
  assert.equal(unknown.json.status, 10004);
  const malformed = await api(server, "DELETE", "/v1/user/token", {
    headers: { authorization: "Basic dG9tOnBhc3N3b3Jk" },
  });
  assert.equal(malformed.httpStatus, 401);
  assert.equal(malformed.json.status, 10004);
});

Deno.test("logout sends 30002 to and closes the token's chat sockets, not the user's others", async () => {
  await using server = await startTestServer();
  const revoked = await registerAndLogin(server, "Tom");
  const kept = await login(server, "Tom");
  const jerryToken = await registerAndLogin(server, "Jerry");
  await using tomRevoked = await ChatClient.connect(server.wsUrl, "Jerry", revoked);
  await using tomKept = await ChatClient.connect(server.wsUrl, "Jerry", kept);
  await using jerry = await ChatClient.connect(server.wsUrl, "Tom", jerryToken);
  await ready(tomRevoked, "r1");
  await ready(tomKept, "k1");

  assert.equal((await api(server, "DELETE", "/v1/user/token", { token: revoked })).httpStatus, 200);

  const failed = await tomRevoked.nextMatching((f) => f.status === 30002, "30002 after logout");
  assert.deepEqual(failed, { status: 30002, msg: "Token authentication failed", body: {} });
  assert.ok(tomRevoked.raw.includes(TOKEN_FAILED_FRAME), "30002 frame keeps the seed's shape");
  assert.equal((await tomRevoked.closed("close after logout")).code, 1008);

  // The other token's socket still chats.
  tomKept.sendMessage("still here", "k2");
  await tomKept.nextMatching((f) => f.status === 30010 && f.body.id === "k2", "ack of k2");
  const received = await jerry.nextMatching(
    (f) => f.status === 30001 && f.body.msg === "still here",
    "message from the kept socket",
  );
  assert.equal(received.body.from_user, "Tom");
  assert.equal(tomKept.socket.readyState, WebSocket.OPEN);
  assert.equal(tomKept.pending.filter((f) => f.status === 30002).length, 0);
});

// --- expiry ---

Deno.test("an expired token is refused over HTTP and on a new chat socket", async () => {
  const clock = manualClock(new Date(2024, 0, 15, 10, 0, 0).getTime());
  await using server = await startTestServer({ clock: clock.read, env: { TOKEN_TTL: "1h" } });
  const token = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jerry");

  clock.now += HOUR_MS - 1000;
  assert.equal((await api(server, "GET", "/v1/chat/Jerry/messages", { token })).httpStatus, 200);
  {
    await using early = await ChatClient.connect(server.wsUrl, "Jerry", token);
    await ready(early, "before-expiry");
  }

  clock.now += 2000;
  const history = await api(server, "GET", "/v1/chat/Jerry/messages", { token });
  assert.equal(history.httpStatus, 401);
  assert.equal(history.json.status, 10004);
  assert.equal((await api(server, "DELETE", "/v1/user/token", { token })).httpStatus, 401);

  await using late = await ChatClient.connect(server.wsUrl, "Jerry", token);
  const frame = await late.next("30002 for an expired token");
  assert.deepEqual(frame, { status: 30002, msg: "Token authentication failed", body: {} });
  assert.equal(late.raw[0], TOKEN_FAILED_FRAME);
  assert.equal((await late.closed("close for an expired token")).code, 1008);
});

Deno.test("an open chat socket gets 30002 and is closed when its token expires", async () => {
  await using server = await startTestServer({ env: { TOKEN_TTL: "1s" } });
  const token = await registerAndLogin(server, "Tom");
  await registerAndLogin(server, "Jerry");
  await using tom = await ChatClient.connect(server.wsUrl, "Jerry", token);
  // The socket was admitted while the token was valid: a message is acknowledged.
  await ready(tom, "before-expiry");
  const frame = await tom.next("30002 at token expiry");
  assert.deepEqual(frame, { status: 30002, msg: "Token authentication failed", body: {} });
  assert.ok(tom.raw.includes(TOKEN_FAILED_FRAME));
  assert.equal((await tom.closed("close at token expiry")).code, 1008);
});

Deno.test("a name that looks like an existing one is refused with 409, naming why", async () => {
  await using server = await startTestServer();
  for (const name of ["Tom", "Straße", "TİM"]) {
    const made = await api(server, "POST", "/v1/user", {
      body: { username: name, password: "password123" },
    });
    assert.equal(made.httpStatus, 201, name);
  }
  for (const name of ["Тоm", "Tоm", "Τom", "STRASSE", "tım", "tim"]) {
    const refused = await api(server, "POST", "/v1/user", {
      body: { username: name, password: "password123" },
    });
    assert.equal(refused.httpStatus, 409, name);
    assert.equal(refused.json.status, 10002);
    assert.deepEqual(refused.json.body, {
      field: "username",
      reason: "looks like an existing username",
    });
  }
  const same = await api(server, "POST", "/v1/user", {
    body: { username: "TOM", password: "password123" },
  });
  assert.equal(same.json.body.reason, "is already taken");
  const marks = await api(server, "POST", "/v1/user", {
    body: { username: "Ja\u0301\u0302\u0303\u0304\u0305ck", password: "password123" },
  });
  assert.equal(marks.httpStatus, 400);
});
