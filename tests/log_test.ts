/** Log lines: the key=value format, and what a chat flow logs and never logs. */
import assert from "node:assert/strict";
import { createLogger, formatLogLine, silentLogger } from "../lib/log.ts";
import { hashToken } from "../lib/auth/token.ts";
import { api, login, startTestServer } from "./support/server.ts";
import { ChatClient } from "./support/ws_client.ts";
import { withTimeout } from "./support/wait.ts";

const T0 = new Date(Date.UTC(2024, 4, 17, 9, 30, 15, 123));
const PREFIX = "2024-05-17T09:30:15.123Z info chat.open";

/** The fields part of a line formatted at T0. */
function fields(values: Parameters<typeof formatLogLine>[3]): string {
  const line = formatLogLine(T0, "info", "chat.open", values);
  assert.ok(line.startsWith(PREFIX), line);
  return line.slice(PREFIX.length);
}

Deno.test("a log line is the ISO time, the level, the event and key=value fields", () => {
  assert.equal(
    formatLogLine(T0, "warn", "listening", {}),
    "2024-05-17T09:30:15.123Z warn listening",
  );
  assert.equal(
    formatLogLine(T0, "info", "listening", { address: "127.0.0.1", port: 7071, tls: false }),
    "2024-05-17T09:30:15.123Z info listening address=127.0.0.1 port=7071 tls=false",
  );
});

Deno.test("plain values are written bare, null as null, and undefined fields are left out", () => {
  assert.equal(
    fields({ user: "张三", peer: "Tom.b-c_d", code: 1008, gone: undefined, error: null }),
    " user=张三 peer=Tom.b-c_d code=1008 error=null",
  );
});

Deno.test("values with spaces, quotes, newlines, = or backslashes are quoted as JSON strings", () => {
  assert.equal(
    fields({ reason: "Token authentication failed" }),
    ' reason="Token authentication failed"',
  );
  assert.equal(fields({ error: 'bad "name"' }), ' error="bad \\"name\\""');
  assert.equal(fields({ error: "line one\nuser=admin" }), ' error="line one\\nuser=admin"');
  assert.equal(fields({ path: "a=b" }), ' path="a=b"');
  assert.equal(fields({ path: "C:\\data" }), ' path="C:\\\\data"');
  assert.equal(fields({ text: "tab\there" }), ' text="tab\\there"');
  assert.equal(fields({ empty: "" }), ' empty=""');
});

Deno.test("a quoted value cannot forge a second line or field", () => {
  const forged = "boom\n2024-05-17T09:30:15.123Z info chat.open user=admin";
  const line = formatLogLine(T0, "error", "http.error", { error: forged, conn: 7 });
  assert.ok(!line.includes("\n"));
  assert.equal(
    line,
    `2024-05-17T09:30:15.123Z error http.error error=${JSON.stringify(forged)} conn=7`,
  );
});

Deno.test("createLogger writes info, warn and error lines with their level", () => {
  const written: [string, string][] = [];
  const log = createLogger((line, level) => written.push([level, line]));
  log.info("a", { x: 1 });
  log.warn("b");
  log.error("c", { y: "z z" });
  assert.deepEqual(written.map(([level]) => level), ["info", "warn", "error"]);
  assert.match(written[0][1], /^\d{4}-\d{2}-\d{2}T\S+Z info a x=1$/);
  assert.match(written[1][1], /^\S+ warn b$/);
  assert.match(written[2][1], /^\S+ error c y="z z"$/);
  silentLogger.info("nothing");
});

/** A logger that keeps its lines and lets a test await a line. */
function captureLog() {
  const lines: string[] = [];
  const waiters: { test: (line: string) => boolean; resolve: () => void }[] = [];
  const log = createLogger((line) => {
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.test(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const line = (test: (line: string) => boolean, what: string): Promise<void> => {
    if (lines.some(test)) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    waiters.push({ test, resolve });
    return withTimeout(promise, what);
  };
  return { lines, log, line };
}

Deno.test("a chat flow logs opens and closes with user names, never a token, password or message", async () => {
  const { lines, log, line: logged } = captureLog();
  const password = "Sup3r-Secret-Passphrase";
  const text = "the quick brown xyzzy message";
  const secrets: string[] = [password, text];
  const server = await startTestServer({ log });
  try {
    for (const username of ["Tom", "Jerry"]) {
      const registered = await api(server, "POST", "/v1/user", { body: { username, password } });
      assert.equal(registered.httpStatus, 201);
    }
    const tomToken = await login(server, "Tom", password);
    const jerryToken = await login(server, "Jerry", password);
    secrets.push(tomToken, jerryToken, hashToken(tomToken), hashToken(jerryToken));
    // A failed login and a rejected socket carry secrets too.
    await api(server, "POST", "/v1/user/token", {
      body: { username: "Tom", password: "wrong-" + password },
    });
    const bogus = crypto.randomUUID();
    secrets.push(bogus);
    {
      await using rejected = await ChatClient.connect(server.wsUrl, "Jerry", bogus);
      await rejected.expect(30002);
      await rejected.closed();
    }

    await using tom = await ChatClient.connect(server.wsUrl, "Jerry", tomToken);
    await using jerry = await ChatClient.connect(server.wsUrl, "Tom", jerryToken);
    tom.sendMessage(text, "m1");
    await tom.nextMatching((f) => f.status === 30010, "ack");
    const received = await jerry.nextMatching((f) => f.status === 30001, "message");
    assert.equal(received.body.msg, text);
    await jerry.close();
    // The server closes Tom's socket on logout.
    assert.equal(
      (await api(server, "DELETE", "/v1/user/token", { token: tomToken })).httpStatus,
      200,
    );
    assert.equal((await tom.closed()).code, 1008);

    // The server sees Jerry's close a moment after Jerry does.
    await logged((l) => / chat\.close .*user=Jerry /.test(l), "chat.close of Jerry");
  } finally {
    await server.close();
  }

  for (const line of lines) {
    for (const secret of secrets) {
      assert.ok(!line.includes(secret), `log line leaks a secret: ${line}`);
    }
  }
  assert.ok(lines.some((l) => / chat\.open .*user=Tom peer=Jerry/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => / chat\.open .*user=Jerry peer=Tom/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => / chat\.close .*user=Jerry peer=Tom/.test(l)), lines.join("\n"));
  assert.ok(
    lines.some((l) => / chat\.close .*user=Tom peer=Jerry code=1008/.test(l)),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => / chat\.rejected /.test(l)), lines.join("\n"));
});
